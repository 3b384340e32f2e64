import RNNFormat

/// The version written into `provenance.producer_version`.
public let trainerVersion = "1.0.0"

extension LSTMParameters where Scalar == Float {
    /// The `.rnnm` model of these weights: `dense_in` (no activation), the LSTM layer(s) (gate
    /// order i, f, g, o; all but the last return their sequence), `dense_out`; input contract
    /// `image_rows` `height x width`, scale 1/255, offset 0 (spec §6).
    public func modelFile(height: Int, labels: [String], provenance: Provenance) -> ModelFile {
        let a = architecture, h = a.hiddenSize
        var layers: [Layer] = [.dense(DenseLayer(name: "dense_in", inputSize: a.inputSize, outputSize: h,
                                                 weight: layout.denseInWeight.name, bias: layout.denseInBias.name,
                                                 activation: .none))]
        for (l, s) in layout.lstm.enumerated() {
            layers.append(.lstm(LSTMLayer(name: a.lstmName(l), inputSize: h, hiddenSize: h,
                                          weightIH: s.weightIH.name, weightHH: s.weightHH.name,
                                          biasIH: s.biasIH.name, biasHH: s.biasHH.name,
                                          returns: l == a.layerCount - 1 ? .last : .sequence)))
        }
        layers.append(.dense(DenseLayer(name: "dense_out", inputSize: h, outputSize: a.classCount,
                                        weight: layout.denseOutWeight.name, bias: layout.denseOutBias.name,
                                        activation: .none)))
        let tensors = layout.slots.map { Tensor(name: $0.name, shape: $0.shape, values: tensor($0)) }
        let metadata = ModelMetadata(
            layers: layers,
            input: InputContract(kind: .imageRows, height: height, width: a.inputSize, scale: pixelScale, offset: 0),
            labels: labels, provenance: provenance)
        return ModelFile(metadata: metadata, tensors: tensors)
    }
}

extension LSTMParameters {
    /// The weights of a model with this trainer's shape: `dense` (no activation) `I -> H`, one or
    /// more `lstm` of width `H`, `dense` `H -> C`. Tensors of any dtype are dequantized to binary32
    /// first (spec §4.1); a missing bias counts as zero.
    public init(model: ModelFile) throws(TrainingError) {
        let layers = model.metadata.layers
        guard layers.count >= 3, case .dense(let first) = layers.first!, case .dense(let last) = layers.last! else {
            throw .unsupportedModel("expected dense, lstm..., dense layers")
        }
        let lstms = layers.dropFirst().dropLast().compactMap { layer -> LSTMLayer? in
            if case .lstm(let l) = layer { return l } else { return nil }
        }
        guard lstms.count == layers.count - 2 else { throw .unsupportedModel("only lstm layers may sit between the two dense layers") }
        guard first.activation == .none, last.activation == .none else {
            throw .unsupportedModel("dense layers must have activation none, found \(first.activation) and \(last.activation)")
        }
        let h = first.outputSize
        for l in lstms where l.inputSize != h || l.hiddenSize != h {
            throw .unsupportedModel("every lstm must have input and hidden size \(h) (layer \(l.name): \(l.inputSize), \(l.hiddenSize))")
        }
        let architecture = LSTMArchitecture(inputSize: first.inputSize, hiddenSize: h, layerCount: lstms.count,
                                            classCount: last.outputSize)
        try architecture.validate()
        self.init(architecture: architecture)
        func copy(_ name: String?, into slot: ParameterSlot) throws(TrainingError) {
            guard let name else { return }  // omitted bias: zero
            guard let t = model.tensor(named: name) else { throw .unsupportedModel("missing tensor \(name)") }
            guard t.shape == slot.shape else { throw .unsupportedModel("tensor \(name) has shape \(t.shape), expected \(slot.shape)") }
            let v = t.floatValues()
            for k in 0..<slot.count { values[slot.offset + k] = Scalar(v[k]) }
        }
        try copy(first.weight, into: layout.denseInWeight)
        try copy(first.bias, into: layout.denseInBias)
        for (l, s) in zip(lstms, layout.lstm) {
            try copy(l.weightIH, into: s.weightIH)
            try copy(l.weightHH, into: s.weightHH)
            try copy(l.biasIH, into: s.biasIH)
            try copy(l.biasHH, into: s.biasHH)
        }
        try copy(last.weight, into: layout.denseOutWeight)
        try copy(last.bias, into: layout.denseOutBias)
    }
}

/// Float64 logits of `count` u8 images under `model`: the reference forward pass for golden tests.
///
/// The input is formed exactly as spec §6.2 says (`f32(pixel) * scale + offset` in binary32),
/// then every later operation runs in float64 with the trainer's own forward code. Returns
/// `[count, C]` row-major.
public func forward64(model: ModelFile, images: [UInt8], count: Int) throws(TrainingError) -> [Double] {
    let parameters = try LSTMParameters<Double>(model: model)
    let input = model.metadata.input
    guard input.width == parameters.architecture.inputSize, input.height >= 1 else {
        throw .unsupportedModel("input contract \(input.height)x\(input.width) does not fit dense_in")
    }
    guard images.count == count * input.height * input.width else {
        throw .dataMismatch("\(images.count) pixels is not \(count) images of \(input.height)x\(input.width)")
    }
    let x = images.map { Double(Float($0) * input.scale + input.offset) }
    return forward64(parameters: parameters, sequences: x, count: count, timeSteps: input.height)
}

/// Float64 logits `[count, C]` of `count` sequences given batch-major as `[count, T, I]`.
public func forward64(parameters: LSTMParameters<Double>, sequences: [Double], count: Int, timeSteps: Int) -> [Double] {
    guard count > 0 else { return [] }
    return batchLogits(parameters: parameters, sequences: sequences, count: count, timeSteps: timeSteps)
}

extension Checkpoint {
    /// The model of this checkpoint's weights with full provenance (spec §6.3): data set name and
    /// SHA-256s, hyperparameters, seed, producer; `metrics` adds e.g. `test_accuracy`. The last
    /// epoch's validation accuracy, the epochs and the training seconds are filled in from the history.
    public func modelFile(metrics extra: [String: Double] = [:]) -> ModelFile {
        var metrics: [String: Double] = [
            "epochs": Double(state.history.count), "steps": Double(state.globalStep),
            "train_seconds": (state.trainSeconds * 10).rounded() / 10,
        ]
        if let last = state.history.last {
            metrics["validation_accuracy"] = last.validationAccuracy.isFinite ? last.validationAccuracy : nil
            metrics["validation_loss"] = last.validationLoss.isFinite ? last.validationLoss : nil
            metrics["train_accuracy"] = last.trainAccuracy
            metrics["train_loss"] = last.trainLoss
        }
        metrics.merge(extra) { $1 }
        var hyper = configuration.provenanceHyperparameters.mapValues { MetadataValue.number($0) }
        hyper["schedule"] = .string(configuration.schedule.rawValue)
        hyper["initialization"] = .string(configuration.initialization.rawValue)
        hyper["optimizer"] = .string("adam")
        let provenance = Provenance(producer: "rnn-train", producerVersion: trainerVersion, datasetName: datasetName,
                                    datasetSHA256: datasetSHA256, hyperparameters: hyper, seed: configuration.seed,
                                    metrics: metrics)
        return state.parameters.modelFile(height: timeSteps, labels: classNames, provenance: provenance)
    }
}
