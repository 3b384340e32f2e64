/// The shape of the classifier: `dense_in (I -> H)`, `layerCount` stacked LSTMs of width `H`,
/// `dense_out (H -> classes)`.
///
/// Every LSTM but the last returns its whole sequence to the next one; the last returns `h[T-1]`
/// (spec/FORMAT.md §6.1). `dense_in` has no activation, which is what lets the trainer fold it
/// into the first LSTM's input weights (see ``ForwardPass``).
package struct LSTMArchitecture: Sendable, Equatable, Codable {
    /// Features per time step (28 for MNIST rows).
    package var inputSize: Int
    /// Width `H` of `dense_in` and of every LSTM.
    package var hiddenSize: Int
    /// Number of stacked LSTM layers.
    package var layerCount: Int
    /// Number of output classes.
    package var classCount: Int

    /// An architecture; call ``validate()`` before use.
    package init(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, classCount: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.classCount = classCount
    }

    /// Throws ``TrainingError/invalidArchitecture(_:)`` unless every size is in range.
    package func validate() throws(TrainingError) {
        try validate(naming: .option)
    }

    /// The rules of ``validate()``, naming each size as `naming` says.
    func validate(naming: SettingNaming) throws(TrainingError) {
        func check(_ option: String, _ field: String, _ value: Int, _ range: ClosedRange<Int>) throws(TrainingError) {
            try checkRange(naming.name(option: option, field: "architecture." + field), value, range)
        }
        try check("input size", "inputSize", inputSize, 1...4096)
        try check("--hidden-size", "hiddenSize", hiddenSize, 1...4096)
        try check("--layers", "layerCount", layerCount, 1...16)
        try check("class count", "classCount", classCount, 2...65536)
    }

    /// The name of LSTM layer `index` in exported files: `lstm` for a single layer,
    /// `lstm0`, `lstm1`, ... when stacked.
    package func lstmName(_ index: Int) -> String {
        layerCount == 1 ? "lstm" : "lstm\(index)"
    }

    /// Where each tensor lives in the flat parameter vector.
    package var layout: ParameterLayout { ParameterLayout(self) }
}

func checkRange(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(TrainingError) {
    guard range.contains(value) else {
        throw .invalidArchitecture("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
    }
}

/// One tensor's place in the flat parameter vector.
package struct ParameterSlot: Sendable, Equatable {
    /// Tensor name as exported (`dense_in.weight`, `lstm.w_ih`, ...).
    package var name: String
    /// Row-major shape, as in the model file.
    package var shape: [Int]
    /// First element's index in the flat vector.
    package var offset: Int
    /// Number of elements.
    package var count: Int { shape.reduce(1, *) }
    /// The index range in the flat vector.
    package var range: Range<Int> { offset..<(offset + count) }
}

/// The order of all parameters in one flat vector.
///
/// Keeping every parameter in one contiguous array makes Adam, clipping, gradient reduction and
/// checkpoints single loops over one buffer.
package struct ParameterLayout: Sendable, Equatable {
    /// `dense_in.weight` `[H, I]`.
    package let denseInWeight: ParameterSlot
    /// `dense_in.bias` `[H]`.
    package let denseInBias: ParameterSlot
    /// Per LSTM layer: `w_ih` `[4H, in]`, `w_hh` `[4H, H]`, `b_ih` `[4H]`, `b_hh` `[4H]`.
    package let lstm: [LSTMSlots]
    /// `dense_out.weight` `[C, H]`.
    package let denseOutWeight: ParameterSlot
    /// `dense_out.bias` `[C]`.
    package let denseOutBias: ParameterSlot
    /// Total number of parameters.
    package let count: Int

    /// The four tensors of one LSTM layer.
    package struct LSTMSlots: Sendable, Equatable {
        /// `w_ih` `[4H, H]`.
        package let weightIH: ParameterSlot
        /// `w_hh` `[4H, H]`.
        package let weightHH: ParameterSlot
        /// `b_ih` `[4H]` (holds the forget-gate bias).
        package let biasIH: ParameterSlot
        /// `b_hh` `[4H]`.
        package let biasHH: ParameterSlot
    }

    init(_ a: LSTMArchitecture) {
        var offset = 0
        func slot(_ name: String, _ shape: [Int]) -> ParameterSlot {
            let s = ParameterSlot(name: name, shape: shape, offset: offset)
            offset += s.count
            return s
        }
        let h = a.hiddenSize
        denseInWeight = slot("dense_in.weight", [h, a.inputSize])
        denseInBias = slot("dense_in.bias", [h])
        var layers: [LSTMSlots] = []
        for l in 0..<a.layerCount {
            let n = a.lstmName(l)
            layers.append(LSTMSlots(
                weightIH: slot("\(n).w_ih", [4 * h, h]),
                weightHH: slot("\(n).w_hh", [4 * h, h]),
                biasIH: slot("\(n).b_ih", [4 * h]),
                biasHH: slot("\(n).b_hh", [4 * h])))
        }
        lstm = layers
        denseOutWeight = slot("dense_out.weight", [a.classCount, h])
        denseOutBias = slot("dense_out.bias", [a.classCount])
        count = offset
    }

    /// Every slot in vector order.
    package var slots: [ParameterSlot] {
        [denseInWeight, denseInBias]
            + lstm.flatMap { [$0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH] }
            + [denseOutWeight, denseOutBias]
    }
}
