/// One entry of the tensor table (spec §4), checked field by field.
struct TensorEntry: Sendable {
    var index: Int
    var name: String
    var dtype: DType
    var shape: [Int]
    var elements: Int
    /// Data offsets as stored (any u64); `checkLayout` proves they lie within the section.
    var dataOffset: UInt64
    var dataSize: Int
    var scaleOffset: UInt64
    var scaleSize: Int

    /// Parses and checks the decompressed tensor table, entry by entry in table order.
    static func parseTable(_ table: [UInt8]) throws(ModelFormatError) -> [TensorEntry] {
        if table.count < Format.tensorTableHeaderSize {
            throw .malformed("tensor table: \(table.count) bytes; expected at least 8 (count and reserved)")
        }
        let count = Int(table.u32(at: 0))
        if count > Format.maxTensors {
            throw .limitExceeded("tensor table offset 0: tensor_count is \(count); the limit is \(Format.maxTensors) (spec §9)")
        }
        if count == 0 { throw .malformed("tensor table offset 0: tensor_count is 0; expected 1 ... 1024") }
        if table.u32(at: 4) != 0 { throw .malformed("tensor table offset 4: reserved is \(table.u32(at: 4)); expected 0") }
        let expectedSize = Format.tensorTableHeaderSize + Format.tensorEntrySize * count
        if table.count != expectedSize {
            throw .malformed("tensor table: \(table.count) bytes; expected 8 + 128 x \(count) = \(expectedSize)")
        }
        var entries: [TensorEntry] = []
        var names = Set<String>()
        for i in 0..<count {
            let entry = try parseEntry(table, index: i)
            guard names.insert(entry.name).inserted else {
                throw .malformed("tensor table entry \(i) (table offset \(8 + 128 * i)): the name \"\(entry.name)\" is used twice; names are unique")
            }
            entries.append(entry)
        }
        return entries
    }

    private static func parseEntry(_ t: [UInt8], index i: Int) throws(ModelFormatError) -> TensorEntry {
        let at = Format.tensorTableHeaderSize + Format.tensorEntrySize * i
        let here = "tensor table entry \(i) (table offset \(at))"
        // Name: 1 ... 63 bytes, NUL-terminated, zero-filled, characters [A-Za-z0-9_.-].
        var nameLength = 64
        if let nul = t.firstIndex(of: 0, in: at..<(at + 64)) { nameLength = nul - at }
        if nameLength == 0 { throw .malformed("\(here): the name is empty") }
        if nameLength == 64 { throw .limitExceeded("\(here): the name fills all 64 bytes; names are at most 63 bytes followed by zeros (spec §9)") }
        if let z = t.firstNonzero(in: (at + nameLength)..<(at + 64)) {
            throw .malformed("\(here): byte \(z - at) after the name is \(hex(t[z])); the name field is zero-filled")
        }
        let nameBytes = Array(t[at..<(at + nameLength)])
        if let bad = nameBytes.firstIndex(where: { !ModelChecks.isNameByte($0) }) {
            throw .malformed("\(here): the name has byte \(hex(nameBytes[bad])) at position \(bad); names use only A-Z a-z 0-9 _ . -")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        let here2 = "\(here), tensor \"\(name)\""

        let dtypeCode = t[at + 64]
        guard let dtype = DType(rawValue: dtypeCode) else {
            throw .unsupportedFeature("\(here2): dtype \(dtypeCode) is unknown; this reader knows 1 (f32), 2 (f16), 3 (bf16), 4 (int8)")
        }
        let rank = Int(t[at + 65])
        if rank > Format.maxRank { throw .limitExceeded("\(here2): rank \(rank); the limit is \(Format.maxRank)") }
        if rank == 0 { throw .malformed("\(here2): rank 0; expected 1 ... 4") }
        if let z = t.firstNonzero(in: (at + 66)..<(at + 68)) {
            throw .malformed("\(here2): reserved byte at entry offset \(z - at) is \(hex(t[z])); expected 0")
        }
        var shape: [Int] = []
        var elements = 1
        for d in 0..<4 {
            let n = Int(t.u32(at: at + 68 + 4 * d))
            if d >= rank {
                if n != 0 { throw .malformed("\(here2): dims[\(d)] is \(n) but rank is \(rank); unused dims are 0") }
                continue
            }
            if n > Format.maxDimension { throw .limitExceeded("\(here2): dims[\(d)] is \(n); the limit is \(Format.maxDimension)") }
            if n == 0 { throw .malformed("\(here2): dims[\(d)] is 0; expected 1 ... \(Format.maxDimension)") }
            shape.append(n)
        }
        if let z = t.firstNonzero(in: (at + 84)..<(at + 88)) {
            throw .malformed("\(here2): reserved byte at entry offset \(z - at) is \(hex(t[z])); expected 0")
        }
        for n in shape {
            // Each factor is <= 2^24 and the running product is <= 2^31 - 1, so this cannot overflow Int64.
            elements *= n
            if elements > Format.maxElements {
                throw .limitExceeded("\(here2): shape \(shape) has more than 2^31-1 elements (spec §9)")
            }
        }
        let dataOffset = t.u64(at: at + 88), dataSize = t.u64(at: at + 96)
        let scaleOffset = t.u64(at: at + 104), scaleSize = t.u64(at: at + 112)
        if dataOffset % 64 != 0 { throw .malformed("\(here2): data_offset \(dataOffset) is not a multiple of 64") }
        let expectedData = UInt64(elements * dtype.elementSize)
        if dataSize != expectedData {
            throw .malformed("\(here2): data_size is \(dataSize); shape \(shape) of \(dtype) needs \(expectedData)")
        }
        if dtype == .int8 {
            if scaleOffset % 64 != 0 { throw .malformed("\(here2): scale_offset \(scaleOffset) is not a multiple of 64") }
            let expectedScales = UInt64(shape[0] * 4)
            if scaleSize != expectedScales {
                throw .malformed("\(here2): scale_size is \(scaleSize); int8 needs one f32 scale per row: \(shape[0]) x 4 = \(expectedScales)")
            }
        } else if scaleOffset != 0 || scaleSize != 0 {
            throw .malformed("\(here2): scale_offset \(scaleOffset) and scale_size \(scaleSize) must be 0 for dtype \(dtype)")
        }
        if let z = t.firstNonzero(in: (at + 120)..<(at + 128)) {
            throw .malformed("\(here2): reserved byte at entry offset \(z - at) is \(hex(t[z])); expected 0")
        }
        return TensorEntry(index: i, name: name, dtype: dtype, shape: shape, elements: elements,
                           dataOffset: dataOffset, dataSize: Int(dataSize),
                           scaleOffset: scaleOffset, scaleSize: Int(scaleSize))
    }

    /// One region of the tensor data (spec §5): a tensor's values or its int8 scales.
    struct Region {
        var start: Int
        var end: Int
        var what: String
    }

    /// The checks of spec §5 that need only the table: every region lies within a section of
    /// `sectionSize` bytes, the regions do not overlap, and the section is exactly `align64` of
    /// the furthest region end.
    ///
    /// Runs before the tensor data is decompressed (spec §7 step 8): a declared size that the
    /// table does not need (a decompression bomb: 2 GiB of zeros in a 66 KB file) is refused
    /// before a buffer of that size exists.
    ///
    /// - Returns: the regions, sorted by start, for ``checkPadding(_:data:)``.
    static func checkLayout(_ entries: [TensorEntry], sectionSize: Int) throws(ModelFormatError) -> [Region] {
        var regions: [Region] = []
        func add(_ offset: UInt64, _ size: Int, _ what: String) throws(ModelFormatError) {
            let (end, overflow) = offset.addingReportingOverflow(UInt64(size))
            if overflow || end > UInt64(sectionSize) {
                throw .malformed("tensor data: \(what) occupy data offsets \(offset) ..< \(overflow ? "(beyond 2^64)" : String(end)), past the end of the \(sectionSize)-byte section")
            }
            regions.append(Region(start: Int(offset), end: Int(end), what: what))
        }
        for e in entries {
            try add(e.dataOffset, e.dataSize, "the values of tensor \"\(e.name)\"")
            if e.dtype == .int8 { try add(e.scaleOffset, e.scaleSize, "the scales of tensor \"\(e.name)\"") }
        }
        regions.sort { $0.start < $1.start || ($0.start == $1.start && $0.end < $1.end) }
        var end = 0
        var previous = ""
        for r in regions {
            if r.start < end {
                throw .malformed("tensor data: \(r.what) at data offset \(r.start) overlap \(previous), which end at \(end)")
            }
            end = r.end
            previous = r.what
        }
        let expected = Format.align64(end)!
        if sectionSize != expected {
            throw .malformed("tensor data: the section's size is \(sectionSize) bytes; the tensor table's regions end at \(end), so expected align64(\(end)) = \(expected) (checked before decompressing)")
        }
        return regions
    }

    /// The checks of spec §5 that need the bytes: every byte outside the `regions` (sorted, as
    /// ``checkLayout(_:sectionSize:)`` returns them) is zero.
    static func checkPadding(_ regions: [Region], data: SectionBytes) throws(ModelFormatError) {
        var end = 0
        for r in regions + [Region(start: data.count, end: data.count, what: "")] {
            if let z = data.firstNonzero(in: end..<r.start) {
                throw .malformed("tensor data offset \(z): padding byte is \(hex(data[z])); bytes outside tensor regions are 0")
            }
            end = r.end
        }
    }

    /// The tensor's values copied out of the (checked) data section.
    func tensor(from data: SectionBytes) -> Tensor {
        let storage: TensorStorage
        switch dtype {
        case .f32:
            storage = .f32(Self.load(Float.self, data, Int(dataOffset), elements))
        case .f16:
            storage = .f16(Self.load(UInt16.self, data, Int(dataOffset), elements))
        case .bf16:
            storage = .bf16(Self.load(UInt16.self, data, Int(dataOffset), elements))
        case .int8:
            storage = .int8(values: Self.load(Int8.self, data, Int(dataOffset), elements),
                            scales: Self.load(Float.self, data, Int(scaleOffset), shape[0]))
        }
        return Tensor(name: name, shape: shape, storage: storage)
    }

    /// `count` little-endian values of `T` at `offset`, copied in one block on little-endian hosts.
    private static func load<T: LittleEndianLoadable>(_: T.Type, _ data: SectionBytes, _ offset: Int, _ count: Int) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buf, initialized in
            data.withUnsafeBytes { src in
                let bytes = UnsafeRawBufferPointer(rebasing: src[offset..<(offset + count * MemoryLayout<T>.size)])
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: bytes)
                #else
                for i in 0..<count { buf[i] = T.fromLittleEndian(bytes, at: i * MemoryLayout<T>.size) }
                #endif
            }
            initialized = count
        }
    }
}

/// Element types the tensor data holds, with their little-endian decoding (for big-endian hosts).
protocol LittleEndianLoadable {
    static func fromLittleEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Self
}

extension UInt16: LittleEndianLoadable {
    static func fromLittleEndian(_ b: UnsafeRawBufferPointer, at o: Int) -> UInt16 {
        UInt16(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }
}

extension Int8: LittleEndianLoadable {
    static func fromLittleEndian(_ b: UnsafeRawBufferPointer, at o: Int) -> Int8 {
        Int8(bitPattern: b[o])
    }
}

extension Float: LittleEndianLoadable {
    static func fromLittleEndian(_ b: UnsafeRawBufferPointer, at o: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
    }
}

/// A decompressed section: either its own checked buffer, or (codec 0) a range of the file's
/// bytes, so that an uncompressed tensor-data section is not copied before its tensors are.
struct SectionBytes {
    private let file: [UInt8]
    private let buffer: CheckedBuffer?
    /// Index in the file of the section's first byte (codec 0), else 0.
    private let start: Int
    let count: Int

    init(_ buffer: CheckedBuffer) {
        file = []
        self.buffer = buffer
        start = 0
        count = buffer.count
    }

    init(file: [UInt8], range: Range<Int>) {
        self.file = file
        buffer = nil
        start = range.lowerBound
        count = range.count
    }

    /// Calls `body` with the section's bytes (section offset 0 at index 0).
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let buffer { return body(buffer.bytes) }
        return file.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
    }

    /// The byte at section offset `i`.
    subscript(i: Int) -> UInt8 { withUnsafeBytes { $0[i] } }

    /// The section offset of the first nonzero byte in `range` (section offsets), if any.
    func firstNonzero(in range: Range<Int>) -> Int? {
        withUnsafeBytes { bytes in
            for i in range where bytes[i] != 0 { return i }
            return nil
        }
    }

    /// A copy of the section's bytes (for the metadata and the table, at most 4 MiB by spec §9).
    var array: [UInt8] { withUnsafeBytes { Array($0) } }
}
