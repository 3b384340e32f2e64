import RNNSupport

/// An array read from a NumPy `.npy` file (format versions 1.0, 2.0 and 3.0), the input of
/// feature-sequence models saved with `np.save`.
///
/// Layout: the magic `\x93NUMPY`, the version's two bytes, the header length (little-endian `u16`
/// in version 1.0, `u32` in 2.0 and 3.0), the header, then the data in C order. The header is a
/// Python dict literal with exactly the keys `descr`, `fortran_order` and `shape`, padded with
/// spaces and a newline: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 7, 12), }`.
///
/// Accepted element types: `<f4` and `<f8` (read as `Float`; an `<f8` value is rounded to the
/// nearest `Float`, and a finite one that rounds to infinity is an error naming its flat index),
/// `<i4` and `<i8` (read as `Int64`). Refused, each with its own message: big-endian (`>`), `=`
/// (native order: numpy writes `<` or `>` into files, never `=`, so a file that says `=` was not
/// written by numpy and does not say its order), object and structured arrays, every other type,
/// and `fortran_order: True` (numpy writes `True` only when the data's layout really differs from
/// C order).
///
/// The file is hostile input: the header is capped at ``maximumHeaderBytes``, the shape's element
/// and byte counts are multiplied with overflow checks and compared with the caller's cap and then
/// with the file's real length before any value is stored, and a file longer or shorter than its
/// shape says is refused.
public struct NPYArray: Equatable, Sendable {
    /// The element types read.
    public enum DType: String, Sendable, CaseIterable {
        case float32 = "<f4"
        case float64 = "<f8"
        case int32 = "<i4"
        case int64 = "<i8"

        /// Bytes per element in the file.
        public var itemSize: Int {
            switch self {
            case .float32, .int32: 4
            case .float64, .int64: 8
            }
        }
    }

    /// The values in C order (the last index varies fastest).
    public enum Values: Equatable, Sendable {
        /// `<f4` and `<f8` arrays (the latter rounded to the nearest `Float`).
        case float([Float])
        /// `<i4` and `<i8` arrays.
        case integer([Int64])

        /// The number of values.
        public var count: Int {
            switch self {
            case .float(let values): values.count
            case .integer(let values): values.count
            }
        }
    }

    /// The element type in the file.
    public let dtype: DType
    /// The dimensions; `[]` for a scalar (one value).
    public let shape: [Int]
    /// The product of ``shape``'s dimensions of values.
    public let values: Values
    /// Where the array was read from, named in errors.
    public let path: String

    /// The longest header accepted: 1 MiB. numpy's own reader stops at 10,000 bytes unless told
    /// otherwise; a real header is under 200.
    public static let maximumHeaderBytes = 1 << 20
    /// The default cap on the data bytes (after the header): 4 GiB.
    public static let defaultMaximumDataBytes = 4 << 30

    /// Reads the `.npy` file at `path` (`"-"` for standard input; gzip-compressed content is
    /// decompressed as it is read).
    ///
    /// - Parameter maximumDataBytes: the most data bytes the header may declare.
    public static func read(at path: String, maximumDataBytes: Int = defaultMaximumDataBytes) throws(DatasetError) -> NPYArray {
        let (source, _, rawSize) = try openDecompressedSource(path: path)
        return try read(from: source, rawSize: rawSize, maximumDataBytes: maximumDataBytes)
    }

    /// Parses the bytes of a `.npy` file; `path` is only named in errors.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>",
                             maximumDataBytes: Int = defaultMaximumDataBytes) throws(DatasetError) -> NPYArray {
        try read(from: MemoryByteSource(bytes, path: path), rawSize: bytes.count, maximumDataBytes: maximumDataBytes)
    }

    /// Reads a header and its data from `source`; `rawSize` is the source's total length when it is
    /// known before reading (a regular file, bytes in memory), nil for a stream.
    static func read(from source: ByteSource, rawSize: Int?, maximumDataBytes: Int) throws(DatasetError) -> NPYArray {
        let header = try NPYHeader.read(from: source, maximumDataBytes: maximumDataBytes)
        var floats: [Float] = []
        var integers: [Int64] = []
        var overflow: (index: Int, value: Double)?
        try source.readData(header.dataBytes, afterHeader: header.headerBytes, rawSize: rawSize) { chunk in
            // Only once the first chunk has come is a regular file's length known to match.
            if floats.isEmpty, integers.isEmpty, rawSize != nil {
                if header.dtype == .float32 || header.dtype == .float64 {
                    floats.reserveCapacity(header.count)
                } else {
                    integers.reserveCapacity(header.count)
                }
            }
            chunk.withUnsafeBytes { raw in
                switch header.dtype {
                case .float32:
                    for offset in stride(from: 0, to: raw.count, by: 4) {
                        floats.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                    }
                case .float64:
                    for offset in stride(from: 0, to: raw.count, by: 8) {
                        let value = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                        let rounded = Float(value)
                        if value.isFinite && !rounded.isFinite && overflow == nil { overflow = (floats.count, value) }
                        floats.append(rounded)
                    }
                case .int32:
                    for offset in stride(from: 0, to: raw.count, by: 4) {
                        integers.append(Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))))
                    }
                case .int64:
                    for offset in stride(from: 0, to: raw.count, by: 8) {
                        integers.append(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                    }
                }
            }
        }
        // After the length checks: a file of the wrong length is that, whatever its values, on a
        // regular file (checked before reading) and on a stream (checked at its end) alike.
        if let overflow { throw .npy(path: source.path, .valueOverflow(index: overflow.index, value: overflow.value)) }
        let values: Values = header.dtype == .float32 || header.dtype == .float64 ? .float(floats) : .integer(integers)
        return NPYArray(dtype: header.dtype, shape: header.shape, values: values, path: source.path)
    }
}

/// A checked `.npy` header: its element type, shape and the sizes they imply.
struct NPYHeader {
    let dtype: NPYArray.DType
    let shape: [Int]
    /// The product of the shape.
    let count: Int
    /// Magic, version, length field and header text.
    let headerBytes: Int
    /// `count * dtype.itemSize`, at most the caller's cap.
    let dataBytes: Int

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads and checks the header, in the file's order: magic, version, length, the dict's syntax,
    /// its keys, `descr`, `fortran_order`, `shape`, and the data size against `maximumDataBytes`.
    /// Nothing is allocated from a declared size but the header text, after its cap.
    static func read(from source: ByteSource, maximumDataBytes: Int) throws(DatasetError) -> NPYHeader {
        let path = source.path
        var prefix = try source.readBytes(10)
        guard prefix.starts(with: magic) else {
            if magic.starts(with: prefix) { throw .truncated(path: path, expectedBytes: 10, foundBytes: prefix.count) }
            throw .npy(path: path, .badMagic(found: Array(prefix.prefix(8))))
        }
        guard prefix.count >= 8 else { throw .truncated(path: path, expectedBytes: 10, foundBytes: prefix.count) }
        let (major, minor) = (prefix[6], prefix[7])
        guard minor == 0, (1...3).contains(major) else {
            throw .npy(path: path, .unsupportedVersion(major: major, minor: minor))
        }
        let prefixBytes = major == 1 ? 10 : 12
        prefix += try source.readBytes(prefixBytes - prefix.count)
        guard prefix.count == prefixBytes else {
            throw .truncated(path: path, expectedBytes: prefixBytes, foundBytes: prefix.count)
        }
        let length = prefix[8...].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length <= NPYArray.maximumHeaderBytes else {
            throw .npy(path: path, .headerTooLarge(bytes: length, limit: NPYArray.maximumHeaderBytes))
        }
        let text = try source.readBytes(length)
        guard text.count == length else {
            throw .truncated(path: path, expectedBytes: prefixBytes + length, foundBytes: prefixBytes + text.count)
        }
        let (dtype, shape) = try NPYHeaderDict.parse(text, path: path)
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .npy(path: path, .shapeOverflow(shape: pythonShape(shape))) }
            count = product
        }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else { throw .npy(path: path, .shapeOverflow(shape: pythonShape(shape))) }
        guard dataBytes <= maximumDataBytes else {
            throw .tooLarge(path: path, claimedBytes: UInt64(dataBytes), limit: maximumDataBytes)
        }
        return NPYHeader(dtype: dtype, shape: shape, count: count, headerBytes: prefixBytes + length, dataBytes: dataBytes)
    }
}

/// The `.npy` header's dict literal, read with the subset of Python's literal syntax that numpy
/// writes (and its reader's `ast.literal_eval` accepts): single- or double-quoted strings without
/// escapes, `True`/`False`, decimal integers, tuples (`()`, `(3,)`, `(2, 3)`, a trailing comma
/// allowed), whitespace between tokens and after the closing brace, nothing else.
struct NPYHeaderDict {
    /// A Python literal as far as the header needs one.
    indirect enum Literal {
        case string(String)
        case boolean(Bool)
        /// The integer's text: `-?[0-9]+`.
        case integer(String)
        case tuple([Literal])
        /// A list: numpy writes one for a structured dtype.
        case list
        case none

        /// The literal for a message ("a tuple", "'<f4'").
        var described: String {
            switch self {
            case .string(let text): excerpt(Array(text.utf8))
            case .boolean(let value): value ? "True" : "False"
            case .integer(let text): text
            case .tuple: "a tuple"
            case .list: "a list (a structured dtype)"
            case .none: "None"
            }
        }
    }

    let bytes: [UInt8]
    let path: String
    var position = 0

    /// The checked element type and shape of the header text `bytes`.
    static func parse(_ bytes: [UInt8], path: String) throws(DatasetError) -> (NPYArray.DType, [Int]) {
        var parser = NPYHeaderDict(bytes: bytes, path: path)
        let entries = try parser.dictionary()
        var values: [String: Literal] = [:]
        for (key, value) in entries {
            guard ["descr", "fortran_order", "shape"].contains(key) else {
                throw .npy(path: path, .headerKeys(detail: "unexpected key \(excerpt(Array(key.utf8)))"))
            }
            guard values.updateValue(value, forKey: key) == nil else {
                throw .npy(path: path, .headerKeys(detail: "'\(key)' given twice"))
            }
        }
        for key in ["descr", "fortran_order", "shape"] where values[key] == nil {
            throw .npy(path: path, .headerKeys(detail: "'\(key)' missing"))
        }
        func wrong(_ key: String, found: String? = nil) -> DatasetError {
            .npy(path: path, .headerValue(key: key, expected: expectation(key), found: found ?? values[key]!.described))
        }
        guard case .string(let descr) = values["descr"]! else { throw wrong("descr") }
        guard let dtype = NPYArray.DType(rawValue: descr) else { throw .npy(path: path, .unsupportedDType(descr: descr)) }
        guard case .boolean(let fortran) = values["fortran_order"]! else { throw wrong("fortran_order") }
        guard !fortran else { throw .npy(path: path, .fortranOrder) }
        guard case .tuple(let elements) = values["shape"]! else { throw wrong("shape") }
        var shape: [Int] = []
        for (index, element) in elements.enumerated() {
            guard case .integer(let text) = element else { throw wrong("shape", found: "an element " + element.described) }
            let negative = text.hasPrefix("-")
            let digits = text.drop { $0 == "-" || $0 == "0" }
            if negative && !digits.isEmpty { throw .npy(path: path, .negativeDimension(index: index, text: text)) }
            guard let value = digits.isEmpty ? 0 : Int(digits) else {
                throw .npy(path: path, .shapeOverflow(shape: "with dimension \(text)"))
            }
            shape.append(value)
        }
        return (dtype, shape)
    }

    /// What `key`'s value must be, for messages.
    private static func expectation(_ key: String) -> String {
        switch key {
        case "descr": "a dtype string such as '<f4' (structured dtypes are not supported)"
        case "fortran_order": "True or False"
        default: "a tuple of integers such as (2, 7, 12) or (5,)"
        }
    }

    // MARK: The literal grammar

    /// `{ (string : value ,)* (string : value)? }` then whitespace to the end.
    private mutating func dictionary() throws(DatasetError) -> [(String, Literal)] {
        skipWhitespace()
        try expect("{", "'{' (the header is a dict)")
        var entries: [(String, Literal)] = []
        while true {
            skipWhitespace()
            if peek == UInt8(ascii: "}") { position += 1; break }
            guard case .string(let key) = try value(depth: 1) else {
                throw syntax(expected: "a quoted key or '}'", at: position)
            }
            skipWhitespace()
            try expect(":", "':' after the key")
            skipWhitespace()
            let value = try value(depth: 1)
            // A list is not read any further: no key this reader knows holds one.
            if case .list = value {
                throw .npy(path: path, .headerValue(key: key, expected: Self.expectation(key), found: value.described))
            }
            entries.append((key, value))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect("}", "',' or '}'")
            break
        }
        skipWhitespace()
        guard position == bytes.count else { throw syntax(expected: "only spaces and a newline after '}'", at: position) }
        return entries
    }

    /// A string, `True`, `False`, `None`, an integer, a tuple (of scalars), or the start of a list.
    private mutating func value(depth: Int) throws(DatasetError) -> Literal {
        let start = position
        switch peek {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let quote = bytes[position]
            position += 1
            let body = position
            while let b = peek, b != quote {
                guard b != UInt8(ascii: "\\"), b != 0x0A else { throw syntax(expected: "a string without escapes", at: position) }
                position += 1
            }
            guard peek == quote else { throw syntax(expected: "the closing quote", at: position) }
            position += 1
            return .string(String(decoding: bytes[body ..< position - 1], as: UTF8.self))
        case UInt8(ascii: "-"), .some(UInt8(ascii: "0")...UInt8(ascii: "9")):
            if peek == UInt8(ascii: "-") { position += 1 }
            let digits = position
            while let b = peek, DecimalNumber.isDigit(b) { position += 1 }
            guard position > digits else { throw syntax(expected: "a digit", at: position) }
            return .integer(String(decoding: bytes[start ..< position], as: UTF8.self))
        case UInt8(ascii: "("):
            guard depth < 2 else { throw syntax(expected: "an integer (tuples do not nest in a shape)", at: position) }
            position += 1
            var elements: [Literal] = []
            var comma = false
            while true {
                skipWhitespace()
                if peek == UInt8(ascii: ")") { position += 1; break }
                elements.append(try value(depth: depth + 1))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; comma = true; continue }
                try expect(")", "',' or ')'")
                break
            }
            // `(3)` is the integer 3 in Python, not a tuple.
            return elements.count == 1 && !comma ? elements[0] : .tuple(elements)
        case UInt8(ascii: "["):
            return .list
        default:
            for (word, literal) in [("True", Literal.boolean(true)), ("False", .boolean(false)), ("None", .none)]
            where bytes[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return literal
            }
            throw syntax(expected: "a value (a string, True, False, an integer or a tuple)", at: position)
        }
    }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Python's whitespace between tokens: space, tab, newline, carriage return, form feed.
    private mutating func skipWhitespace() {
        while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C { position += 1 }
    }

    private mutating func expect(_ character: Unicode.Scalar, _ expected: String) throws(DatasetError) {
        guard peek == UInt8(ascii: character) else { throw syntax(expected: expected, at: position) }
        position += 1
    }

    private func syntax(expected: String, at offset: Int) -> DatasetError {
        .npy(path: path, .headerSyntax(offset: offset, expected: expected,
                                       found: excerpt(bytes[min(offset, bytes.count)...], nothing: "the end of the header")))
    }
}
