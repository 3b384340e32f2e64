import RNNFormat
import Testing
@testable import RNNRuntime

/// Typed errors with messages that name what was expected and what was found.
struct ModelErrorTests {
    static let model = try! Model(randomModel(height: 28, width: 28, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 10, activation: .none)], seed: 4))

    @Test func wrongImageSizeNamesBothSizes() {
        #expect(throws: RuntimeError.imageSizeMismatch(expectedHeight: 28, expectedWidth: 28, foundHeight: 32, foundWidth: 32)) {
            try Self.model.checkImageSize(height: 32, width: 32)
        }
        let message = RuntimeError.imageSizeMismatch(expectedHeight: 28, expectedWidth: 28, foundHeight: 32, foundWidth: 32).description
        #expect(message == "expected 784 pixels per image (28x28), found 1024 (32x32)")
    }

    @Test func bufferThatIsNotWholeImagesIsRefused() {
        #expect(throws: RuntimeError.inputLengthMismatch(valuesPerImage: 784, found: 1000, what: "pixels")) {
            try Self.model.classify(pixels: [UInt8](repeating: 0, count: 1000))
        }
    }

    @Test func emptyBatchGivesEmptyResult() throws {
        let result = try Self.model.classify(pixels: [])
        #expect(result.count == 0 && result.logits.isEmpty)
    }

    @Test func badOptionsAreRefused() {
        #expect(throws: RuntimeError.invalidOption(name: "thread count", expected: "1...256", found: 0)) {
            try Self.model.classify(pixels: [UInt8](repeating: 0, count: 784), options: ClassifyOptions(threads: 0))
        }
        #expect(throws: RuntimeError.self) {
            try Self.model.classify(pixels: [UInt8](repeating: 0, count: 784), options: ClassifyOptions(blockSize: 0))
        }
    }

    @Test func inconsistentInMemoryModelsAreRefusedNotCrashed() {
        var file = randomModel(height: 4, width: 4, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 3, activation: .none)], seed: 6)
        file.metadata.labels.removeLast()
        #expect(throws: RuntimeError.self) { try Model(file) }

        var missing = randomModel(height: 4, width: 4, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 3, activation: .none)], seed: 6)
        missing.tensors.removeFirst()
        #expect(throws: RuntimeError.self) { try Model(missing) }

        // Since 1.2 a last LSTM may return its sequence (per-step outputs), but a model needs one.
        let perStep = randomModel(height: 4, width: 4, layers: [.lstm(hidden: 3, returns: .sequence)], seed: 6)
        #expect((try? Model(perStep).classify(pixels: [UInt8](repeating: 9, count: 16)).rows) == 4)
        let noRecurrent = randomModel(height: 4, width: 4, layers: [.dense(out: 3, activation: .none)], seed: 6)
        #expect(throws: RuntimeError.self) { try Model(noRecurrent) }
    }
}
