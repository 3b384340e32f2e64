import RNNFormat

/// The version written into `provenance.producer_version`.
package let trainerVersion = "1.0.0"

/// The input contract an exported model states (spec §6.2).
package enum ExportInput: Sendable, Equatable {
    /// `image_rows`: `height x I` u8 images, scale 1/255, offset 0 (the image trainer's data).
    case imageRows(height: Int)
    /// `features` (spec §6.2.2, format 1.2): sequences of 1 ... `maxLength` steps of `I` binary32
    /// values, standardized by `mean` and `std` (`[I]` each, both or neither) when given.
    case features(maxLength: Int, mean: [Float]?, std: [Float]?)
    /// `tokens` (spec §6.2.1, format 1.1): texts through this tokenizer and vocabulary into token
    /// ids, for a model whose input stage is an embedding.
    case tokens(TokenInput)
}

extension LSTMParameters where Scalar == Float {
    /// The `.rnnm` model of these weights: `dense_in` (no activation), the recurrent layer(s) (LSTM
    /// gate order i, f, g, o or GRU r, z, n with this architecture's reset; bidirectional layers
    /// with their `*_reverse` tensors; all but the last return their sequence), `dense_out`; input
    /// contract `image_rows` `height x width`, scale 1/255, offset 0 (spec §6).
    package func modelFile(height: Int, labels: [String], provenance: Provenance) -> ModelFile {
        modelFile(input: .imageRows(height: height), labels: labels, provenance: provenance)
    }

    /// The `.rnnm` model of these weights with the input contract `input` (see
    /// ``modelFile(height:labels:provenance:)``). A GRU, a bidirectional layer or a `features`
    /// input makes it a format-1.2 file; pooling over time (a `pool` layer after the last recurrent
    /// layer, which then returns `"sequence"`) a format-1.3 file.
    package func modelFile(input: ExportInput, labels: [String], provenance: Provenance) -> ModelFile {
        let a = architecture, h = a.hiddenSize
        var layers: [Layer] = []
        if let w = layout.denseInWeight, let b = layout.denseInBias {
            layers.append(.dense(DenseLayer(name: "dense_in", inputSize: a.inputSize, outputSize: h, weight: w.name,
                                            bias: b.name, activation: .none)))
        } else if let e = layout.embedding {
            layers.append(.embedding(EmbeddingLayer(name: "embed", vocabularySize: e.shape[0], dimension: e.shape[1], weight: e.name)))
        }
        for (l, directions) in layout.recurrent.enumerated() {
            let s = directions[0]
            let reverse = directions.dropFirst().first.map {
                ReverseTensors(weightIH: $0.weightIH.name, weightHH: $0.weightHH.name, biasIH: $0.biasIH.name, biasHH: $0.biasHH.name)
            }
            let returns: SequenceReturn = l == a.layerCount - 1 && a.pooling == .last ? .last : .sequence
            switch a.cell {
            case .lstm:
                layers.append(.lstm(LSTMLayer(name: a.layerName(l), inputSize: a.layerInputSize(l), hiddenSize: h,
                                              weightIH: s.weightIH.name, weightHH: s.weightHH.name,
                                              biasIH: s.biasIH.name, biasHH: s.biasHH.name,
                                              returns: returns, reverse: reverse)))
            case .gru:
                layers.append(.gru(GRULayer(name: a.layerName(l), inputSize: a.layerInputSize(l), hiddenSize: h,
                                            weightIH: s.weightIH.name, weightHH: s.weightHH.name,
                                            biasIH: s.biasIH.name, biasHH: s.biasHH.name, reset: a.gruReset,
                                            returns: returns, reverse: reverse)))
            }
        }
        switch a.pooling {
        case .last: break
        case .mean: layers.append(.pool(PoolLayer(name: "pool", mode: .mean, size: a.outputWidth)))
        case .max: layers.append(.pool(PoolLayer(name: "pool", mode: .max, size: a.outputWidth)))
        }
        layers.append(.dense(DenseLayer(name: "dense_out", inputSize: a.outputWidth, outputSize: a.classCount,
                                        weight: layout.denseOutWeight.name, bias: layout.denseOutBias.name,
                                        activation: .none)))
        var tensors = layout.slots.map { Tensor(name: $0.name, shape: $0.shape, values: tensor($0)) }
        let contract: InputContract
        switch input {
        case .imageRows(let height):
            contract = InputContract(kind: .imageRows, height: height, width: a.inputSize, scale: pixelScale, offset: 0)
        case .features(let maxLength, let mean, let std):
            precondition((mean == nil) == (std == nil), "mean and std come together (spec §6.2.2)")
            var features = FeatureInput(width: a.inputSize, maxLength: maxLength)
            if let mean, let std {
                precondition(mean.count == a.inputSize && std.count == a.inputSize, "mean and std need \(a.inputSize) values")
                features.mean = "input.mean"
                features.std = "input.std"
                tensors += [Tensor(name: "input.mean", shape: [a.inputSize], values: mean),
                            Tensor(name: "input.std", shape: [a.inputSize], values: std)]
            }
            contract = InputContract(features: features)
        case .tokens(let tokens):
            precondition(a.vocabularySize == tokens.vocabulary.count + TokenInput.firstWordID,
                         "the embedding's rows are the vocabulary's words plus the padding and out-of-vocabulary ids")
            contract = InputContract(tokens: tokens)
        }
        let metadata = ModelMetadata(layers: layers, input: contract, labels: labels, provenance: provenance)
        return ModelFile(metadata: metadata, tensors: tensors)
    }
}

/// One recurrent layer of a model file, as the trainer reads it back.
private struct ImportedLayer {
    var cell: RecurrentCell
    var reset: GRUReset
    var name: String
    var inputSize: Int
    var hiddenSize: Int
    var tensors: [(weightIH: String, weightHH: String, biasIH: String, biasHH: String?)]

    init?(_ layer: Layer) {
        switch layer {
        case .lstm(let l):
            cell = .lstm; reset = .after; name = l.name; inputSize = l.inputSize; hiddenSize = l.hiddenSize
            tensors = [(l.weightIH, l.weightHH, l.biasIH, l.biasHH)]
                + (l.reverse.map { [($0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH)] } ?? [])
        case .gru(let l):
            cell = .gru; reset = l.reset; name = l.name; inputSize = l.inputSize; hiddenSize = l.hiddenSize
            tensors = [(l.weightIH, l.weightHH, l.biasIH, l.biasHH)]
                + (l.reverse.map { [($0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH)] } ?? [])
        default:
            return nil
        }
    }
}

extension LSTMParameters {
    /// The weights of a model with this trainer's shape: `dense` (no activation) `I -> H`, one or
    /// more `lstm` or `gru` layers of width `H` (one cell kind and one direction for all of them),
    /// optionally a `mean` or `max` `pool` of width `D*H` (format 1.3), `dense` `D*H -> C`. Tensors of any dtype are dequantized to binary32 first (spec §4.1); a
    /// missing bias counts as zero.
    package init(model: ModelFile) throws(TrainingError) {
        let layers = model.metadata.layers
        guard layers.count >= 3, case .dense(let last) = layers.last! else {
            throw .unsupportedModel("expected dense or embedding, recurrent layers, dense")
        }
        // The input stage: dense_in, or an embedding (whose width the first recurrent layer reads).
        var first: DenseLayer?, embedding: EmbeddingLayer?
        switch layers.first! {
        case .dense(let d): first = d
        case .embedding(let e): embedding = e
        default: throw .unsupportedModel("expected dense or embedding, recurrent layers, dense")
        }
        var middle = layers.dropFirst().dropLast()
        var pooling = TimePooling.last
        if case .pool(let pool) = middle.last {
            pooling = pool.mode == .mean ? .mean : .max
            middle = middle.dropLast()
        }
        let recurrent = middle.compactMap(ImportedLayer.init)
        guard !recurrent.isEmpty, recurrent.count == middle.count else {
            throw .unsupportedModel("only lstm or gru layers (then at most one pool) may sit between the two dense layers")
        }
        for dense in [first, last].compactMap({ $0 }) where dense.activation != .none {
            throw .unsupportedModel("dense layers must have activation none, found \(dense.activation) in \(dense.name)")
        }
        let top = recurrent[0]
        for l in recurrent where l.cell != top.cell || l.reset != top.reset || l.tensors.count != top.tensors.count {
            throw .unsupportedModel("every recurrent layer must be a \(top.cell.rawValue) like \(top.name) with the same reset and direction (layer \(l.name) differs)")
        }
        let h = first?.outputSize ?? top.hiddenSize
        let architecture = LSTMArchitecture(inputSize: first?.inputSize ?? embedding!.dimension, hiddenSize: h,
                                            layerCount: recurrent.count, classCount: last.outputSize, cell: top.cell,
                                            gruReset: top.reset, bidirectional: top.tensors.count == 2, pooling: pooling,
                                            vocabularySize: embedding?.vocabularySize)
        for (i, l) in recurrent.enumerated() where l.inputSize != architecture.layerInputSize(i) || l.hiddenSize != h {
            throw .unsupportedModel("layer \(l.name) must have input size \(architecture.layerInputSize(i)) and hidden size \(h), found \(l.inputSize) and \(l.hiddenSize)")
        }
        try architecture.validate()
        self.init(architecture: architecture)
        func copy(_ name: String?, into slot: ParameterSlot) throws(TrainingError) {
            guard let name else { return }  // omitted bias: zero
            guard let t = model.tensor(named: name) else { throw .unsupportedModel("missing tensor \(name)") }
            guard t.shape == slot.shape else { throw .unsupportedModel("tensor \(name) has shape \(t.shape), expected \(slot.shape)") }
            let v = t.floatValues()
            for k in 0..<slot.count { values[slot.offset + k] = Scalar(v[k]) }
        }
        if let first, let w = layout.denseInWeight, let b = layout.denseInBias {
            try copy(first.weight, into: w)
            try copy(first.bias, into: b)
        }
        if let embedding, let e = layout.embedding { try copy(embedding.weight, into: e) }
        for (l, directions) in zip(recurrent, layout.recurrent) {
            for (names, s) in zip(l.tensors, directions) {
                try copy(names.weightIH, into: s.weightIH)
                try copy(names.weightHH, into: s.weightHH)
                try copy(names.biasIH, into: s.biasIH)
                try copy(names.biasHH, into: s.biasHH)
            }
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
package func forward64(model: ModelFile, images: [UInt8], count: Int) throws(TrainingError) -> [Double] {
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

/// Float64 logits of `lengths.count` feature sequences under a model with a `features` input
/// (spec §6.2.2): `features` is batch-major `[count, max_length, F]`, sequence `b` real for its
/// first `lengths[b]` steps (the rest is padding, ignored). Standardization is computed as the spec
/// says (binary32, `(x - mean) / d`), then every later operation in float64 with the trainer's own
/// forward code. Returns `[count, C]` row-major.
package func forward64(model: ModelFile, features: [Float], lengths: [Int]) throws(TrainingError) -> [Double] {
    let parameters = try LSTMParameters<Double>(model: model)
    let input = model.metadata.input
    guard input.kind == .features, let contract = input.features, contract.width == parameters.architecture.inputSize else {
        throw .unsupportedModel("expected a features input of width \(parameters.architecture.inputSize)")
    }
    let width = contract.width, steps = contract.maxLength, count = lengths.count
    guard features.count == count * steps * width else {
        throw .dataMismatch("\(features.count) values is not \(count) sequences of \(steps)x\(width)")
    }
    if let bad = lengths.first(where: { !(1...steps).contains($0) }) {
        throw .dataMismatch("sequence length \(bad) outside 1...\(steps)")
    }
    var mean = [Float](repeating: 0, count: width), divisor = [Float](repeating: 1, count: width)
    if let m = contract.mean, let s = contract.std {
        guard let mt = model.tensor(named: m), let st = model.tensor(named: s) else { throw .unsupportedModel("missing tensor \(m) or \(s)") }
        mean = mt.floatValues()
        divisor = st.floatValues().map { $0 > 0 ? $0 : 1 }
    }
    // x = (src - mean) / d in binary32: a subtraction, then a division (spec §6.2.2).
    let x = features.indices.map { k in Double((features[k] - mean[k % width]) / divisor[k % width]) }
    return batchLogits(parameters: parameters, sequences: x, count: count, timeSteps: steps, lengths: lengths)
}

/// Float64 logits `[texts.count, C]` of token sequences (ids, already through the model's
/// tokenizer, spec §6.2.1) under a model whose input stage is an embedding: every operation in
/// float64 with the trainer's own forward code, each text over its own length (an empty one gives
/// the zero state).
package func forward64(model: ModelFile, tokens texts: [[Int32]]) throws(TrainingError) -> [Double] {
    let parameters = try LSTMParameters<Double>(model: model)
    guard let rows = parameters.architecture.vocabularySize else { throw .unsupportedModel("expected an embedding input stage") }
    if let bad = texts.joined().first(where: { !(0..<Int32(rows)).contains($0) }) {
        throw .dataMismatch("token id \(bad) outside the embedding's 0..<\(rows)")
    }
    return tokenLogits(parameters: parameters, texts: texts)
}

/// Float64 logits `[count, C]` of `count` sequences given batch-major as `[count, T, I]`.
package func forward64(parameters: LSTMParameters<Double>, sequences: [Double], count: Int, timeSteps: Int) -> [Double] {
    guard count > 0 else { return [] }
    return batchLogits(parameters: parameters, sequences: sequences, count: count, timeSteps: timeSteps)
}

extension Checkpoint {
    /// The model of this checkpoint's weights with full provenance (spec §6.3): data set name and
    /// SHA-256s, hyperparameters, seed, producer; `metrics` adds e.g. `test_accuracy`. The validation
    /// accuracy of the epoch whose weights it holds (``RunState/resultRecord``: the best with early
    /// stopping, else the last), the epochs and the training seconds are filled in from the history;
    /// `time` decides `created_at` and whether the training seconds stay (see ``ProvenanceTime``).
    package func modelFile(metrics extra: [String: Double] = [:], time: ProvenanceTime = .unstated) -> ModelFile {
        state.result.modelFile(height: timeSteps, labels: classNames, provenance: provenance(metrics: extra, time: time))
    }

    /// The provenance ``modelFile(metrics:time:)`` writes (also that of a feature-sequence run's model).
    package func provenance(metrics extra: [String: Double] = [:], time: ProvenanceTime = .unstated) -> Provenance {
        let metrics = state.provenanceMetrics(extra)
        var hyper = configuration.provenanceHyperparameters.mapValues { MetadataValue.number($0) }
        hyper["schedule"] = .string(configuration.schedule.rawValue)
        hyper["initialization"] = .string(configuration.initialization.rawValue)
        hyper["optimizer"] = .string(configuration.weightDecay == nil ? "adam" : "adamw")
        if let a = configuration.augmentation { hyper["augment"] = .string(a.rawValue) }
        // Written only for what is not a unidirectional LSTM, so that those files stay byte-identical.
        let architecture = configuration.architecture
        if architecture.cell == .gru {
            hyper["cell"] = .string("gru")
            hyper["gru_reset"] = .string(architecture.gruReset.rawValue)
        }
        if architecture.bidirectional { hyper["bidirectional"] = .number(1) }
        if architecture.pooling != .last { hyper["pooling"] = .string(architecture.pooling.rawValue) }
        var provenance = Provenance(producer: "rnn-train", producerVersion: trainerVersion, datasetName: datasetName,
                                    datasetSHA256: datasetSHA256, hyperparameters: hyper, seed: configuration.seed,
                                    metrics: metrics)
        time.stamp(&provenance)
        return provenance
    }
}

extension RunState {
    /// The metrics a trained model's provenance records (spec §6.3), every kind of run alike: epochs,
    /// steps, training seconds (to 0.1 s), and the train and validation figures of the epoch whose
    /// weights the model holds (``resultRecord``); `extra` (e.g. `test_accuracy`) added last.
    func provenanceMetrics(_ extra: [String: Double]) -> [String: Double] {
        var metrics: [String: Double] = [
            "epochs": Double(history.count), "steps": Double(globalStep),
            "train_seconds": (trainSeconds * 10).rounded() / 10,
        ]
        if let last = resultRecord {
            metrics["validation_accuracy"] = last.validationAccuracy.isFinite ? last.validationAccuracy : nil
            metrics["validation_loss"] = last.validationLoss.isFinite ? last.validationLoss : nil
            metrics["train_accuracy"] = last.trainAccuracy
            metrics["train_loss"] = last.trainLoss
        }
        metrics.merge(extra) { $1 }
        return metrics
    }
}

/// When a model was made, as its provenance says (spec §6.3 `created_at`), and whether it records
/// how long the training took.
///
/// Follows the reproducible-builds convention (<https://reproducible-builds.org/specs/source-date-epoch/>):
/// a wall-clock time or duration in the file would make two identical runs (same data, settings,
/// seed, machine, threads and kernel variant) write different bytes, so ``reproducible(sourceDateEpoch:)``
/// writes a fixed creation time and leaves the durations to the run log. The library never reads
/// the clock or the environment: the command line decides (`SOURCE_DATE_EPOCH`, `--reproducible`).
package enum ProvenanceTime: Sendable, Equatable {
    /// No `created_at`; durations recorded. Byte-identical to files written before
    /// `created_at` was filled in (the golden fixtures).
    case unstated
    /// `created_at` is this moment, seconds since 1970-01-01T00:00:00Z (the clock at export);
    /// durations recorded.
    case wallClock(secondsSince1970: Int64)
    /// `created_at` is `sourceDateEpoch` (0 when `--reproducible` is given without
    /// `SOURCE_DATE_EPOCH`: 1970-01-01T00:00:00Z); no durations, so identical runs give identical bytes.
    case reproducible(sourceDateEpoch: Int64)

    /// The latest time RFC 3339 can write, 9999-12-31T23:59:59Z.
    package static let latest: Int64 = 253_402_300_799

    /// Metrics that measure wall-clock time, left out of reproducible files.
    package static let durationMetrics: Set<String> = ["train_seconds"]

    /// The time `SOURCE_DATE_EPOCH` (its text) names: a decimal integer of seconds since
    /// 1970-01-01T00:00:00Z in `0...latest`, digits only. Anything else is an
    /// ``TrainingError/invalidHyperparameter(_:)`` (a usage error) quoting the value.
    package static func sourceDateEpoch(_ text: String) throws(TrainingError) -> ProvenanceTime {
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              let seconds = Int64(text), seconds <= latest else {
            throw .invalidHyperparameter("SOURCE_DATE_EPOCH must be a whole number of seconds since 1970 in 0...\(latest), got \(quoted(text))")
        }
        return .reproducible(sourceDateEpoch: seconds)
    }

    /// `created_at` as RFC 3339 in UTC (`1970-01-01T00:00:00Z`), nil for ``unstated``.
    package var createdAt: String? {
        switch self {
        case .unstated: nil
        case .wallClock(let t), .reproducible(let t): rfc3339(secondsSince1970: min(max(t, 0), Self.latest))
        }
    }

    /// Sets `provenance.createdAt` and, when reproducible, removes the ``durationMetrics``.
    package func stamp(_ provenance: inout Provenance) {
        provenance.createdAt = createdAt
        if case .reproducible = self {
            for key in Self.durationMetrics { provenance.metrics[key] = nil }
        }
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` for a time in 0...``ProvenanceTime/latest``.
///
/// Days to a civil date by Howard Hinnant's `civil_from_days` (proleptic Gregorian calendar,
/// 400-year eras), so that no locale, time zone or Foundation formatter is involved.
func rfc3339(secondsSince1970 t: Int64) -> String {
    let days = t / 86_400, seconds = t % 86_400
    let z = days + 719_468
    let era = z / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let y = String(year)
    return String(repeating: "0", count: 4 - y.count) + y + "-\(two(month))-\(two(day))T"
        + "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))Z"
}
