/// Conversions between binary32 values and the stored dtypes (spec §4.1).
extension Tensor {
    /// The values as binary32, dequantized exactly as spec §4.1 says.
    ///
    /// f16 and bf16 widen exactly; int8 computes `Float(q) * s[r]` in binary32, where `r` is the
    /// index along `shape[0]` (for a rank-1 tensor, the element itself).
    public func floatValues() -> [Float] {
        switch storage {
        case .f32(let v):
            return v
        case .f16(let v):
            return v.map { Float(Float16(bitPattern: $0)) }
        case .bf16(let v):
            return v.map { Float(bitPattern: UInt32($0) << 16) }
        case .int8(let q, let scales):
            guard let rows = shape.first, rows > 0, !scales.isEmpty else { return q.map(Float.init) }
            let perRow = max(1, q.count / rows)
            return [Float](unsafeUninitializedCapacity: q.count) { out, initialized in
                q.withUnsafeBufferPointer { qb in
                    scales.withUnsafeBufferPointer { sb in
                        for i in 0..<qb.count {
                            let r = min(i / perRow, sb.count - 1)
                            out[i] = Float(qb[i]) * sb[r]
                        }
                    }
                }
                initialized = q.count
            }
        }
    }

    /// Stores `values` (row-major, `shape`) in `dtype` with the writer's rules of spec §4.1.
    ///
    /// - f16: round to nearest, ties to even; a value beyond the f16 range is an error.
    /// - bf16: `(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16`; a value that rounds to infinity is an error.
    /// - int8: per row `s = max|w| / 127` (1 when that is 0), `q = clamp(round_half_even(w / s), -127, 127)`.
    ///
    /// Throws `invalid_tensor` for non-finite input or overflow, `malformed` when the count of
    /// `values` does not match `shape`.
    public static func quantized(name: String, shape: [Int], values: [Float], to dtype: DType) throws(ModelFormatError) -> Tensor {
        var expected = 1
        for n in shape {
            let (p, o) = expected.multipliedReportingOverflow(by: n)
            guard !o, n >= 1 else { throw .malformed("tensor \"\(name)\": shape \(shape) is not a valid shape") }
            expected = p
        }
        guard !shape.isEmpty, values.count == expected else {
            throw .malformed("tensor \"\(name)\": \(values.count) values for shape \(shape), which needs \(expected)")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidTensor("tensor \"\(name)\": element \(i) is \(values[i]); only finite values can be stored (spec §4.2)")
        }
        switch dtype {
        case .f32:
            return Tensor(name: name, shape: shape, storage: .f32(values))
        case .f16:
            var bits = [UInt16](repeating: 0, count: values.count)
            for (i, v) in values.enumerated() {
                let h = Float16(v)  // IEEE convertFormat: round to nearest, ties to even
                guard h.isFinite else {
                    throw .invalidTensor("tensor \"\(name)\": element \(i) is \(v), beyond the f16 range (±65504); store it as f32 or bf16")
                }
                bits[i] = h.bitPattern
            }
            return Tensor(name: name, shape: shape, storage: .f16(bits))
        case .bf16:
            var bits = [UInt16](repeating: 0, count: values.count)
            for (i, v) in values.enumerated() {
                let b = bf16Bits(v)
                guard b & 0x7F80 != 0x7F80 else {
                    throw .invalidTensor("tensor \"\(name)\": element \(i) is \(v), which rounds to infinity in bf16")
                }
                bits[i] = b
            }
            return Tensor(name: name, shape: shape, storage: .bf16(bits))
        case .int8:
            let (q, scales) = int8Quantize(values, rows: shape[0])
            return Tensor(name: name, shape: shape, storage: .int8(values: q, scales: scales))
        }
    }

    /// bf16 round-to-nearest-even on the upper 16 bits of a finite binary32 (spec §4.1).
    static func bf16Bits(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// Symmetric per-row int8 (spec §4.1), all arithmetic in binary32.
    package static func int8Quantize(_ values: [Float], rows: Int) -> (values: [Int8], scales: [Float]) {
        let perRow = values.count / rows
        var q = [Int8](repeating: 0, count: values.count)
        var scales = [Float](repeating: 1, count: rows)
        for r in 0..<rows {
            let row = (r * perRow)..<((r + 1) * perRow)
            var maxAbs: Float = 0
            for i in row { maxAbs = max(maxAbs, values[i].magnitude) }
            var s = maxAbs / 127
            if s == 0 { s = 1 }  // an all-zero row, or one so small that the division underflows
            scales[r] = s
            for i in row {
                let x = (values[i] / s).rounded(.toNearestOrEven)
                q[i] = Int8(min(127, max(-127, x)))
            }
        }
        return (q, scales)
    }
}
