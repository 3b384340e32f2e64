// libFuzzer entry point for the .npy reader (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift and fuzz/FuzzSupport.swift.
// Each input is read twice:
//   1. as is;
//   2. "repaired": everything up to the first newline taken as the header's dict text and the
//      rest as data, behind a correct magic, version (1.0, or 2.0 when the input's first byte is
//      odd) and length field, so that mutations of the dict reach its parser and the size checks.
// Each time, three ways that must agree: `NPYArray.parse` on bytes in memory (length known),
// `NPYArray.read` on a real regular file (fstat), and the reader on a stream with no length
// known (as standard input). Beyond "no trap": a parsed array holds exactly the product of its
// shape of values, of its dtype's kind; re-encoded as a version 1.0 file it parses back to the
// same shape and value bits (float64 as the float32 values it was read as); and, when it is
// [N, T, F], `featureSequences()` either succeeds with N sequences of T * F finite values or fails
// with a .npy error. libFuzzer's -malloc_limit_mb (2048) makes an allocation that a header merely
// claims a finding.

import RNNSupport

private let scratch = ScratchFile("npy")

@_cdecl("LLVMFuzzerTestOneInput")
public func npyFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)
    if let newline = bytes.firstIndex(of: 0x0A) {
        let text = Array(bytes[...newline])
        let version: UInt8 = bytes.first.map { $0 & 1 == 1 ? 2 : 1 } ?? 1
        var repaired = NPYHeader.magic + [version, 0]
        for shift in stride(from: 0, to: version == 1 ? 16 : 32, by: 8) {
            repaired.append(UInt8(truncatingIfNeeded: text.count >> shift))
        }
        check(repaired + text + bytes[(newline + 1)...])
    }
    return 0
}

/// What must be equal when two readers agree: not the path, and floats by their bits (NaN).
private struct Contents: Equatable {
    let dtype: NPYArray.DType
    let shape: [Int]
    let bits: [UInt64]

    init(_ array: NPYArray) {
        dtype = array.dtype
        shape = array.shape
        switch array.values {
        case .float(let values): bits = values.map { UInt64($0.bitPattern) }
        case .integer(let values): bits = values.map { UInt64(bitPattern: $0) }
        }
    }
}

private func check(_ bytes: [UInt8]) {
    scratch.write(bytes)
    let inMemory = outcome { () throws(DatasetError) in try NPYArray.parse(bytes) }
    let fromFile = outcome { () throws(DatasetError) in Contents(try NPYArray.read(at: scratch.path)) }
    let fromStream = outcome { () throws(DatasetError) in
        Contents(try NPYArray.read(from: MemoryByteSource(bytes), rawSize: nil, maximumDataBytes: NPYArray.defaultMaximumDataBytes))
    }
    let contents = inMemory.map(Contents.init)
    agree(contents, fromFile, "in-memory reader", "file reader", bytes)
    agree(contents, fromStream, "in-memory reader", "stream reader", bytes)
    guard case .success(let array) = inMemory else { return }

    let count = array.shape.reduce(1, *)
    guard array.values.count == count else { fatalError("\(array.values.count) values for shape \(array.shape)") }
    switch (array.dtype, array.values) {
    case (.float32, .float), (.float64, .float), (.int32, .integer), (.int64, .integer): break
    default: fatalError("dtype \(array.dtype) read as \(array.values)")
    }
    let reread = outcome { () throws(DatasetError) in Contents(try NPYArray.parse(encode(array))) }
    let expected = Contents(array)
    guard case .success(let again) = reread, again.shape == expected.shape, again.bits == expected.bits else {
        fatalError("re-encoded array does not read back: \(reread)")
    }

    guard array.shape.count == 3 else { return }
    switch outcome({ () throws(DatasetError) in try array.featureSequences() }) {
    case .success(let sequences):
        let (n, t, f) = (array.shape[0], array.shape[1], array.shape[2])
        guard sequences.count == n, sequences.features == f, sequences.lengths == Array(repeating: t, count: n),
              sequences.values.allSatisfy({ $0.count == t * f && $0.allSatisfy(\.isFinite) }) else {
            fatalError("featureSequences of \(array.shape): \(sequences.lengths), F = \(sequences.features)")
        }
    case .failure(let error):
        guard case .npy = error, !error.description.contains("\n") else { fatalError("featureSequences: \(error)") }
    }
}

/// `array` as a version 1.0 file, written here independently of the reader: float64 values as
/// `<f4` (they were rounded to float32 when read), integers in their own width.
private func encode(_ array: NPYArray) -> [UInt8] {
    let descr = array.dtype == .float64 ? "<f4" : array.dtype.rawValue
    let shape = array.shape.count == 1 ? "(\(array.shape[0]),)" : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
    var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
    header += [UInt8](repeating: 0x20, count: 63 - (10 + header.count) % 64) + [0x0A]
    var bytes = NPYHeader.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
    func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
    switch array.values {
    case .float(let values): values.forEach { append($0.bitPattern) }
    case .integer(let values): values.forEach { array.dtype == .int32 ? append(Int32(truncatingIfNeeded: $0)) : append($0) }
    }
    return bytes
}
