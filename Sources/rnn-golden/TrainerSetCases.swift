import RNNFormat
import RNNTraining

/// One recurrent shape of the trainer-made set (spec/GOLDEN.md, "Trainer-made set"): what sits
/// between `dense_in` and `dense_out`. Each is trained and exported once per ``TrainerSetInput``.
struct LayerKind {
    /// File stem: `gru-after`, `bilstm-max`, ...
    var stem: String
    var cell: RecurrentCell
    var reset: GRUReset = .after
    var bidirectional = false
    var layers = 1
    var pooling: TimePooling = .last
    /// `H` per direction (not always a multiple of 8, the runtime's padding unit).
    var hiddenSize = 8

    /// The trainer's architecture of this shape for `inputSize` features and `classes` classes.
    func architecture(inputSize: Int, classes: Int) -> LSTMArchitecture {
        LSTMArchitecture(inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layers, classCount: classes,
                         cell: cell, gruReset: reset, bidirectional: bidirectional, pooling: pooling)
    }

    /// The layers in words, for the manifest: `dense(8) -> bidirectional gru(8, reset after) x 2 -> last -> dense(4)`.
    func text(inputSize: Int, classes: Int) -> String {
        let recurrent = (bidirectional ? "bidirectional " : "") + cell.rawValue + "(\(hiddenSize)"
            + (cell == .gru ? ", reset \(reset.rawValue))" : ")") + (layers > 1 ? " x \(layers)" : "")
        let head = pooling == .last ? (bidirectional ? "last = [hf[T-1], hb[0]]" : "last") : "pool \(pooling.rawValue)"
        let width = (bidirectional ? 2 : 1) * hiddenSize
        return "dense(\(inputSize) -> \(hiddenSize)) -> \(recurrent) -> \(head) (\(width)) -> dense(\(classes)) logits"
    }

    /// Every layer kind the trainer makes beyond the 1.0 LSTM: both GRU reset placements,
    /// bidirectional LSTM and GRU, a stack (the trainer stacks one cell kind and direction, so a
    /// mixed stack is not possible: two bidirectional GRU layers), and the two pools of format 1.3.
    static let all: [LayerKind] = [
        LayerKind(stem: "gru-after", cell: .gru),
        LayerKind(stem: "gru-before", cell: .gru, reset: .before),
        LayerKind(stem: "bilstm", cell: .lstm, bidirectional: true),
        LayerKind(stem: "bigru", cell: .gru, bidirectional: true, hiddenSize: 6),
        LayerKind(stem: "stacked-bigru", cell: .gru, bidirectional: true, layers: 2),
        LayerKind(stem: "gru-mean", cell: .gru, pooling: .mean),
        LayerKind(stem: "bilstm-max", cell: .lstm, bidirectional: true, pooling: .max, hiddenSize: 5),
    ]
}

/// The input kinds of the trainer-made set. Each trains a model of a ``LayerKind`` on data drawn by
/// code (``TrainerSetTraining/train(_:on:seed:)``) and computes its expected outputs on one golden
/// input batch (``batch(images:sequences:)``). A text model, once the trainer's `embedding` input
/// stage combines with these layers, is one more case here and one arm in each of those two
/// switches: its training run on drawn texts, and its golden token batch with its `forward64` call.
enum TrainerSetInput: CaseIterable {
    /// 28 x 28 u8 images read as 28 rows (spec §6.2), trained on ``DigitPainter`` digits, run on
    /// `../inputs-37.idx3`.
    case imageRows
    /// Standardized feature sequences of 1 ... 29 steps (spec §6.2.2), trained on
    /// ``SyntheticSequences``, run on `features-6.npy` / `lengths.npy`.
    case features

    /// The model file's stem for `kind`: `image-gru-after` or `gru-after`.
    func stem(_ kind: LayerKind) -> String {
        self == .imageRows ? "image-\(kind.stem)" : kind.stem
    }
}
