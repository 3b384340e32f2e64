import RNNCore
import Testing
@testable import RNNFixtureCorpus
@testable import RNNFormat

/// `ModelFile.converted(to:)`: the rule (matrices in the dtype, biases f32), exactness where the
/// spec promises it, and the per-weight error bound of each dtype (spec §4.1).
@Suite struct ConversionTests {
    /// The tensor sizes of the default MNIST model: 28 -> 128 dense, lstm 128, 128 -> 10 dense.
    static let mnistShaped = FixtureModels.classifier(seed: 11, height: 28, width: 28, pre: [128], lstm: [128],
                                                      labels: (0..<10).map(String.init))

    @Test(arguments: DType.allCases)
    func matricesTakeTheRequestedDTypeAndBiasesStayF32(dtype: DType) throws {
        let converted = try Self.mnistShaped.converted(to: dtype)
        #expect(converted.tensors.map(\.name) == Self.mnistShaped.tensors.map(\.name))
        for t in converted.tensors {
            #expect(t.dtype == (t.shape.count >= 2 ? dtype : .f32), "\(t.name) \(t.shape) is \(t.dtype)")
            #expect(ModelFile.conversionDType(for: t, requested: dtype) == t.dtype)
        }
        #expect(converted.metadata == Self.mnistShaped.metadata)
        // The file says which dtypes it uses (spec §3 feature bits), and reads back equal.
        let bytes = try ModelWriter.encode(converted)
        let expected = dtype == .f32 ? ["zstd"] : ["zstd", dtype.description]
        #expect(try ModelReader.inspect(bytes).features == expected)
        #expect(try ModelReader.decode(bytes) == converted)
    }

    @Test(arguments: DType.allCases)
    func convertingToTheDTypeAFileHasChangesNothing(dtype: DType) throws {
        let once = try Self.mnistShaped.converted(to: dtype)
        #expect(try once.converted(to: dtype) == once)
    }

    @Test(arguments: [DType.f16, .bf16, .int8])
    func convertingBackToF32IsExactDequantization(dtype: DType) throws {
        let reduced = try Self.mnistShaped.converted(to: dtype)
        let back = try reduced.converted(to: .f32)
        for (r, b) in zip(reduced.tensors, back.tensors) {
            #expect(b.dtype == .f32)
            #expect(b.floatValues() == r.floatValues())
        }
    }

    /// f16: round to nearest, so the error is at most half an ulp: `2^-11 |w|` for a normal f16
    /// (|w| >= 2^-14), and half the subnormal spacing, `2^-25`, below that.
    @Test func f16ErrorIsAtMostTheUnitRoundoffPerWeight() throws {
        try checkPerWeightBound(.f16) { w, _, _ in max(w.magnitude * 0x1p-11, 0x1p-25) }
    }

    /// bf16 has binary32's exponent range and 8 significant bits: at most `2^-8 |w|` for a normal value.
    @Test func bf16ErrorIsAtMostTheUnitRoundoffPerWeight() throws {
        try checkPerWeightBound(.bf16) { w, _, _ in w.magnitude * 0x1p-8 }
    }

    /// int8: `|w - q s| <= s / 2` exactly; the binary32 division `w / s` and product `q * s` each add
    /// at most `2^-24 x 127 s`, and the clamp of a row maximum that rounds above 127 once more.
    @Test func int8ErrorIsAtMostHalfAStepOfItsRow() throws {
        try checkPerWeightBound(.int8) { _, _, scale in scale * (0.5 + 3 * 127 * 0x1p-24) }
    }

    /// Checks `|dequantized - original| <= bound(w, row, scale)` for every weight of every matrix,
    /// and that the bound is not slack by orders of magnitude (the largest error is > 30 % of it).
    private func checkPerWeightBound(_ dtype: DType, bound: (Float, Int, Float) -> Float) throws {
        var rng = SplitMix64(seed: 3)
        // Weights across many binades, as trained weights are, plus exact zeros.
        let values = (0..<(64 * 48)).map { i -> Float in
            i % 97 == 0 ? 0 : rng.weight(amplitude: 1) * Float(sign: .plus, exponent: -(i % 13), significand: 1)
        }
        let original = Tensor(name: "w", shape: [64, 48], values: values)
        let model = ModelFile(metadata: Self.mnistShaped.metadata, tensors: [original])
        let tensor = try model.converted(to: dtype).tensors[0]
        let scales: [Float]
        if case .int8(_, let s) = tensor.storage { scales = s } else { scales = [Float](repeating: 1, count: 64) }
        let back = tensor.floatValues()
        var worstRatio: Float = 0
        for i in values.indices {
            let b = bound(values[i], i / 48, scales[i / 48])
            let error = abs(back[i] - values[i])
            #expect(error <= b, "element \(i): \(values[i]) became \(back[i]), error \(error) > bound \(b)")
            if b > 0 { worstRatio = max(worstRatio, error / b) }
        }
        #expect(worstRatio > 0.3, "the bound should be nearly attained; largest error / bound = \(worstRatio)")
    }

    @Test func aValueBeyondTheF16RangeIsRefusedNamingTheTensor() throws {
        var model = Self.mnistShaped
        var values = model.tensors[0].floatValues()
        values[5] = 70_000
        model.tensors[0] = Tensor(name: model.tensors[0].name, shape: model.tensors[0].shape, values: values)
        #expect(throws: ModelFormatError.self) { try model.converted(to: .f16) }
        do {
            _ = try model.converted(to: .f16)
        } catch {
            #expect(error.kind == .invalidTensor)
            #expect(error.message.contains(model.tensors[0].name) && error.message.contains("element 5"))
        }
        // bf16 has the exponent range of f32, so the same model converts.
        #expect(try model.converted(to: .bf16).tensors[0].dtype == .bf16)
    }

    /// The size target of the int8 export (at most 30 % of the f32 file), for the default model's
    /// tensor shapes, without compression (random weights do not compress, trained ones barely).
    @Test func int8FileIsUnder30PercentOfTheF32File() throws {
        let f32 = try ModelWriter.encode(Self.mnistShaped, options: .uncompressed).count
        var sizes: [DType: Int] = [:]
        for dtype in DType.allCases {
            sizes[dtype] = try ModelWriter.encode(Self.mnistShaped.converted(to: dtype), options: .uncompressed).count
        }
        #expect(sizes[.f32] == f32)
        #expect(Double(sizes[.int8]!) <= 0.30 * Double(f32), "int8 \(sizes[.int8]!) of f32 \(f32) bytes")
        #expect(Double(sizes[.f16]!) <= 0.52 * Double(f32) && sizes[.bf16] == sizes[.f16])
    }
}
