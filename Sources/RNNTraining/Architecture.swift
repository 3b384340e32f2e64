import RNNFormat

/// The recurrent cell of every layer of a trainer model (spec/FORMAT.md §6.1).
package enum RecurrentCell: String, Sendable, Equatable, Codable, CaseIterable {
    /// Gates i, f, g, o; state `(h, c)`.
    case lstm
    /// Gates r, z, n; state `h` (PyTorch's `nn.GRU`, with the reset placement of
    /// ``LSTMArchitecture/gruReset``).
    case gru

    /// Gate blocks of `W_ih` and `W_hh`: 4 (LSTM) or 3 (GRU).
    package var gateCount: Int { self == .lstm ? 4 : 3 }
}

extension GRUReset: Codable {}

/// How the last recurrent layer's outputs become `dense_out`'s input.
package enum TimePooling: String, Sendable, Equatable, Codable, CaseIterable {
    /// The final state: `h[T-1]`, or `[hf[T-1], hb[0]]` when bidirectional (each sequence's own last step).
    case last
    /// The mean of the per-step outputs over each sequence's valid steps (a `pool` layer, format 1.3).
    case mean
    /// The element-wise maximum of the per-step outputs over each sequence's valid steps (a `pool` layer).
    case max
}

/// The shape of the classifier: an input stage, `layerCount` stacked recurrent layers of width `H`
/// (LSTM or GRU, each unidirectional or bidirectional), `dense_out (D*H -> classes)`.
///
/// The input stage is `dense_in (I -> H)` for real-valued rows (images, feature sequences), or,
/// with ``vocabularySize``, an `embedding` table `[V, I]` for token ids (texts): step `t`'s input
/// is row `token[t]` of the table, `I` wide, read by the first layer's `W_ih` directly.
///
/// Every recurrent layer but the last returns its whole sequence to the next one; the last returns
/// its final state: `h[T-1]`, or `[hf[T-1], hb[0]]` when bidirectional (spec/FORMAT.md §6.1), or,
/// with ``pooling`` `mean` or `max`, its per-step outputs pooled over each sequence's steps. A layer
/// above a bidirectional one reads `2H` inputs. `dense_in` has no activation, which is what lets the
/// trainer fold it into the first layer's input weights (see ``PreparedWeights``).
package struct LSTMArchitecture: Sendable, Equatable, Codable {
    /// Features per time step (28 for MNIST rows); with an embedding, its width `D`.
    package var inputSize: Int
    /// The embedding's rows `V` (token ids `0 ..< V`) when the input is tokens; nil: `dense_in`.
    package var vocabularySize: Int? = nil
    /// Width `H` of `dense_in` and of every recurrent layer (per direction).
    package var hiddenSize: Int
    /// Number of stacked recurrent layers.
    package var layerCount: Int
    /// Number of output classes.
    package var classCount: Int
    /// The cell of every layer; LSTM for checkpoints written before GRUs existed.
    package var cell: RecurrentCell = .lstm
    /// Where a GRU's reset gate applies (ignored for LSTMs): `after` is PyTorch's.
    package var gruReset: GRUReset = .after
    /// Whether every layer runs both ways (`[forward, backward]`, `2H` wide).
    package var bidirectional: Bool = false
    /// What `dense_out` reads: the final state (`last`) or the mean or max over time of the last
    /// layer's per-step outputs, masked by each sequence's length.
    package var pooling: TimePooling = .last

    /// Directions per layer: 1 or 2.
    package var directionCount: Int { bidirectional ? 2 : 1 }
    /// Width of a layer's output step (and `dense_out`'s input): `H` or `2H`.
    package var outputWidth: Int { directionCount * hiddenSize }
    /// Input width of recurrent layer `l`: `H` (from `dense_in`) or the embedding width for the
    /// first, else the layer below's output.
    package func layerInputSize(_ l: Int) -> Int { l > 0 ? outputWidth : hasDenseIn ? hiddenSize : inputSize }
    /// Whether the input stage is `dense_in` (else an embedding).
    package var hasDenseIn: Bool { vocabularySize == nil }
    /// Gate rows per direction: `4H` (LSTM) or `3H` (GRU).
    package var gateRows: Int { cell.gateCount * hiddenSize }

    /// An architecture; call ``validate()`` before use.
    package init(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, classCount: Int,
                 cell: RecurrentCell = .lstm, gruReset: GRUReset = .after, bidirectional: Bool = false,
                 pooling: TimePooling = .last, vocabularySize: Int? = nil) {
        self.inputSize = inputSize
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.classCount = classCount
        self.cell = cell
        self.gruReset = gruReset
        self.bidirectional = bidirectional
        self.pooling = pooling
    }

    private enum CodingKeys: String, CodingKey {
        case inputSize, hiddenSize, layerCount, classCount, cell, gruReset, bidirectional, pooling, vocabularySize
    }

    /// Decodes a header; `cell`, `gruReset`, `bidirectional` and `pooling` are optional (a checkpoint
    /// written before they existed is an LSTM, unidirectional, reading the final state).
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputSize = try c.decode(Int.self, forKey: .inputSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        classCount = try c.decode(Int.self, forKey: .classCount)
        cell = try c.decodeIfPresent(RecurrentCell.self, forKey: .cell) ?? .lstm
        gruReset = try c.decodeIfPresent(GRUReset.self, forKey: .gruReset) ?? .after
        bidirectional = try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? false
        pooling = try c.decodeIfPresent(TimePooling.self, forKey: .pooling) ?? .last
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize)
    }

    /// Encodes a header; the new members are written only when they differ from an LSTM's
    /// defaults, so a unidirectional LSTM's checkpoint is byte-identical to one written before them.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputSize, forKey: .inputSize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(classCount, forKey: .classCount)
        if cell != .lstm { try c.encode(cell, forKey: .cell) }
        if cell == .gru { try c.encode(gruReset, forKey: .gruReset) }
        if bidirectional { try c.encode(bidirectional, forKey: .bidirectional) }
        if pooling != .last { try c.encode(pooling, forKey: .pooling) }
        if let v = vocabularySize { try c.encode(v, forKey: .vocabularySize) }
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
        if let v = vocabularySize { try check("vocabulary size", "vocabularySize", v, 1...16_777_216) }
    }

    /// The name of recurrent layer `index` in exported files: `lstm` (or `gru`) for a single
    /// layer, `lstm0`, `lstm1`, ... when stacked.
    package func layerName(_ index: Int) -> String {
        let kind = cell.rawValue
        return layerCount == 1 ? kind : "\(kind)\(index)"
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
    /// `dense_in.weight` `[H, I]` (nil with an embedding).
    package let denseInWeight: ParameterSlot?
    /// `dense_in.bias` `[H]` (nil with an embedding).
    package let denseInBias: ParameterSlot?
    /// `embed.weight` `[V, D]`: one row per token id (nil with `dense_in`).
    package let embedding: ParameterSlot?
    /// Per recurrent layer, per direction (forward, then the `*_reverse` tensors of a bidirectional
    /// layer): `w_ih` `[GH, in]`, `w_hh` `[GH, H]`, `b_ih` `[GH]`, `b_hh` `[GH]` with `G` gates.
    package let recurrent: [[RecurrentSlots]]
    /// `dense_out.weight` `[C, D*H]`.
    package let denseOutWeight: ParameterSlot
    /// `dense_out.bias` `[C]`.
    package let denseOutBias: ParameterSlot
    /// Total number of parameters.
    package let count: Int

    /// The four tensors of one direction of one recurrent layer.
    package struct RecurrentSlots: Sendable, Equatable {
        /// `w_ih` `[GH, in]`.
        package let weightIH: ParameterSlot
        /// `w_hh` `[GH, H]`.
        package let weightHH: ParameterSlot
        /// `b_ih` `[GH]` (holds an LSTM's forget-gate bias).
        package let biasIH: ParameterSlot
        /// `b_hh` `[GH]`.
        package let biasHH: ParameterSlot
    }

    init(_ a: LSTMArchitecture) {
        var offset = 0
        func slot(_ name: String, _ shape: [Int]) -> ParameterSlot {
            let s = ParameterSlot(name: name, shape: shape, offset: offset)
            offset += s.count
            return s
        }
        let h = a.hiddenSize, rows = a.gateRows
        if let v = a.vocabularySize {
            embedding = slot("embed.weight", [v, a.inputSize])
            denseInWeight = nil
            denseInBias = nil
        } else {
            embedding = nil
            denseInWeight = slot("dense_in.weight", [h, a.inputSize])
            denseInBias = slot("dense_in.bias", [h])
        }
        var layers: [[RecurrentSlots]] = []
        for l in 0..<a.layerCount {
            let n = a.layerName(l), width = a.layerInputSize(l)
            layers.append(["", "_reverse"].prefix(a.directionCount).map { suffix in
                RecurrentSlots(weightIH: slot("\(n).w_ih\(suffix)", [rows, width]),
                          weightHH: slot("\(n).w_hh\(suffix)", [rows, h]),
                          biasIH: slot("\(n).b_ih\(suffix)", [rows]),
                          biasHH: slot("\(n).b_hh\(suffix)", [rows]))
            })
        }
        recurrent = layers
        denseOutWeight = slot("dense_out.weight", [a.classCount, a.outputWidth])
        denseOutBias = slot("dense_out.bias", [a.classCount])
        count = offset
    }

    /// Every slot in vector order.
    package var slots: [ParameterSlot] {
        [embedding, denseInWeight, denseInBias].compactMap { $0 }
            + recurrent.joined().flatMap { [$0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH] }
            + [denseOutWeight, denseOutBias]
    }
}
