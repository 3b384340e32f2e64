/// Re-storing a model's weights in another dtype (spec §4.1, and the informative note of §4.3).
///
/// The rule is one line: **tensors of rank >= 2 (weight matrices, of every layer) are stored in the
/// requested dtype; rank-1 tensors (biases) are stored as f32.** Why biases stay f32:
///
/// - int8 stores one binary32 scale per row, and a rank-1 tensor's rows are its elements, so an int8
///   bias would take 5 bytes per value instead of 4: larger *and* less precise.
/// - A bias adds directly to a pre-activation, with no averaging over a row, so its rounding error
///   reaches the gates undiluted; yet biases are under 1 % of the parameters (1,162 of 137,098 in
///   the default MNIST model), so f16 or bf16 biases would save about 2 KB.
extension ModelFile {
    /// This model with every weight matrix stored in `dtype` and every rank-1 tensor in f32.
    ///
    /// Each tensor is first dequantized to binary32 (``Tensor/floatValues()``, spec §4.1) and then
    /// quantized with the writer's rules of spec §4.1 (``Tensor/quantized(name:shape:values:to:)``).
    /// A tensor that already has its target dtype is kept bit for bit, so converting a file to the
    /// dtype it already has changes nothing. Converting an f16, bf16 or int8 file to another reduced
    /// dtype rounds twice; converting it to f32 is exact. Metadata (including the provenance metrics,
    /// which describe the model the file was made from) is unchanged.
    ///
    /// - Throws: `invalid_tensor` when a value cannot be stored in `dtype` (e.g. beyond ±65504 for
    ///   f16), naming the tensor and the element.
    public func converted(to dtype: DType) throws(ModelFormatError) -> ModelFile {
        var result = self
        for (index, tensor) in tensors.enumerated() {
            let target = Self.conversionDType(for: tensor, requested: dtype)
            guard tensor.dtype != target else { continue }
            result.tensors[index] = try Tensor.quantized(name: tensor.name, shape: tensor.shape,
                                                         values: tensor.floatValues(), to: target)
        }
        return result
    }

    /// The dtype ``converted(to:)`` gives `tensor` when `requested` is asked for: `requested` for a
    /// tensor of rank >= 2, f32 for a rank-1 tensor.
    public static func conversionDType(for tensor: Tensor, requested: DType) -> DType {
        tensor.shape.count >= 2 ? requested : .f32
    }
}
