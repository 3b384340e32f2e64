/// The `.npy` files of the golden inputs: NumPy format version 1.0, C order, little-endian.
///
/// Layout (numpy.lib.format): the magic `\x93NUMPY`, the version bytes `01 00`, the header length as
/// a little-endian `u16`, an ASCII Python dict (`descr`, `fortran_order`, `shape`) padded with spaces
/// and ended by `\n` so that the values start at a multiple of 64 bytes, then the values. This is
/// byte for byte what `numpy.save` writes for the same array, so the files need no NumPy to make.
enum NPYWriter {
    /// A float32 array (`<f4`) of `shape`.
    static func float32(_ values: [Float], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        return header(descr: "<f4", shape: shape) + values.flatMap { littleEndian($0.bitPattern) }
    }

    /// An int64 array (`<i8`) of `shape`.
    static func int64(_ values: [Int], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        return header(descr: "<i8", shape: shape) + values.flatMap { littleEndian(UInt64(bitPattern: Int64($0))) }
    }

    private static func header(descr: String, shape: [Int]) -> [UInt8] {
        // Python's repr of a tuple: `(23,)` for one dimension, `(23, 29, 6)` otherwise.
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let n = dict.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(dict.utf8)
    }

    private static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
