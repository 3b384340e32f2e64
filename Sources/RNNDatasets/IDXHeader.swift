/// The header of an IDX file (LeCun's format for MNIST): a 4-byte magic, then one big-endian
/// `u32` per dimension.
///
/// Magic bytes 0 and 1 are zero, byte 2 is the element type (`0x08` = unsigned byte), byte 3
/// the number of dimensions. Only unsigned-byte images (3 dimensions) and labels (1 dimension)
/// are accepted here.
struct IDXHeader {
    /// Items in the file (images or labels).
    let count: Int
    /// Rows per image (1 for labels).
    let height: Int
    /// Columns per image (1 for labels).
    let width: Int
    /// Length of the header: 4 bytes of magic plus 4 per dimension.
    let headerBytes: Int
    /// Bytes of data after the header, checked against ``IDX/maximumDataBytes``.
    let dataBytes: Int

    /// Total (decompressed) file length the header implies.
    var totalBytes: Int { headerBytes + dataBytes }

    /// Reads and validates a header with `dimensions` dimensions (3 for images, 1 for labels).
    ///
    /// Nothing is allocated from the declared sizes: they are only multiplied (with overflow
    /// checks) and compared with the limit.
    static func read(from source: ByteSource, dimensions: Int) throws(DatasetError) -> IDXHeader {
        let expectedMagic = UInt32(0x0800) | UInt32(dimensions)
        let headerBytes = 4 + 4 * dimensions
        let bytes = try source.readBytes(headerBytes)
        guard bytes.count >= 4 else {
            throw .truncated(path: source.path, expectedBytes: headerBytes, foundBytes: bytes.count)
        }
        let magic = bigEndianU32(bytes, at: 0)
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw .badMagic(path: source.path, expected: expectedMagic, found: magic)
        }
        guard bytes[2] == 0x08 else {
            throw .unsupportedElementType(path: source.path, found: bytes[2])
        }
        guard Int(bytes[3]) == dimensions else {
            throw .wrongDimensions(path: source.path, expected: dimensions, found: Int(bytes[3]))
        }
        guard bytes.count == headerBytes else {
            throw .truncated(path: source.path, expectedBytes: headerBytes, foundBytes: bytes.count)
        }
        let sizes = (0 ..< dimensions).map { bigEndianU32(bytes, at: 4 + 4 * $0) }
        // Three u32 factors fit in 96 bits; check each product step for UInt64 overflow.
        var claimed: UInt64 = 1
        var overflow = false
        for size in sizes {
            let (product, o) = claimed.multipliedReportingOverflow(by: UInt64(size))
            claimed = product
            overflow = overflow || o
        }
        guard !overflow, claimed <= UInt64(IDX.maximumDataBytes) else {
            throw .tooLarge(path: source.path, claimedBytes: overflow ? UInt64.max : claimed,
                            limit: IDX.maximumDataBytes)
        }
        let height = dimensions == 3 ? Int(sizes[1]) : 1
        let width = dimensions == 3 ? Int(sizes[2]) : 1
        guard height > 0, width > 0 else {
            throw .invalidHeader(path: source.path, detail: "image size \(height)x\(width), expected both > 0")
        }
        return IDXHeader(count: Int(sizes[0]), height: height, width: width,
                         headerBytes: headerBytes, dataBytes: Int(claimed))
    }

    /// The header's bytes for `count` items of `height` x `width` (`dimensions` 3) or labels (1).
    static func encode(dimensions: Int, sizes: [Int]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions)]
        for size in sizes {
            let value = UInt32(size)
            bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        return bytes
    }
}

private func bigEndianU32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
        | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
