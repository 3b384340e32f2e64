import RNNFormat
import RNNSupport
import RNNTraining

extension Train {
    /// The model a finished training run writes: `trained` (its f32 weights, with the test metrics)
    /// stored as `--weights`.
    ///
    /// The provenance metrics describe the weights the file holds. For f32 that is the trained model's
    /// test result; for f16, bf16 and int8 the test set is evaluated again with the stored (dequantized,
    /// spec §4.1) weights (`evaluate`), and the trained model's figures are kept as `test_accuracy_f32`
    /// and `test_loss_f32`, so the cost of the smaller file is written in the file itself.
    func exportedModel(_ trained: ModelFile, f32Result: EvaluationResult,
                       evaluate: (ModelFile) throws -> EvaluationResult) throws -> ModelFile {
        guard weights != .f32 else { return trained }
        var model = try storing(trained, as: weights)
        let stored = try evaluate(model)
        printError("rnn-train: test accuracy with \(weights.rawValue) weights \(percent(stored.accuracy)) "
            + "(loss \(fixed(stored.loss, 4))); f32 \(percent(f32Result.accuracy))")
        model.metadata.provenance.metrics["test_accuracy"] = stored.accuracy
        model.metadata.provenance.metrics["test_loss"] = stored.loss
        model.metadata.provenance.metrics["test_accuracy_f32"] = f32Result.accuracy
        model.metadata.provenance.metrics["test_loss_f32"] = f32Result.loss
        return model
    }
}
