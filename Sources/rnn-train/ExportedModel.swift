import RNNFormat
import RNNSupport
import RNNTraining

/// The model a finished training run writes: the checkpoint's weights stored as `weights`.
///
/// The provenance metrics describe the weights the file holds. For f32 that is the trained model's
/// test result; for f16, bf16 and int8 the test set is evaluated again with the stored (dequantized,
/// spec §4.1) weights, and the trained model's figures are kept as `test_accuracy_f32` and
/// `test_loss_f32`, so the cost of the smaller file is written in the file itself.
func exportedModel(_ checkpoint: Checkpoint, trainer: Trainer, test: LabeledPixels,
                   f32Result: EvaluationResult, weights: WeightsDType, time: ProvenanceTime) throws -> ModelFile {
    let trained = checkpoint.modelFile(metrics: ["test_accuracy": f32Result.accuracy, "test_loss": f32Result.loss], time: time)
    guard weights != .f32 else { return trained }
    var model = try storing(trained, as: weights)
    let parameters: LSTMParameters<Float>
    do { parameters = try LSTMParameters(model: model) } catch { throw fail(error.description, statusCode(for: error)) }
    let stored = trainer.evaluate(parameters, on: test)
    printError("rnn-train: test accuracy with \(weights.rawValue) weights \(percent(stored.accuracy)) "
        + "(loss \(fixed(stored.loss, 4))); f32 \(percent(f32Result.accuracy))")
    model.metadata.provenance.metrics["test_accuracy"] = stored.accuracy
    model.metadata.provenance.metrics["test_loss"] = stored.loss
    model.metadata.provenance.metrics["test_accuracy_f32"] = f32Result.accuracy
    model.metadata.provenance.metrics["test_loss_f32"] = f32Result.loss
    return model
}
