import CZlib

/// CRC-32 (ISO-HDLC), as zlib's `crc32` (spec §2.3).
///
/// Public so that other file formats of the project (the trainer's checkpoints) use the same
/// zlib-backed checksum instead of a second implementation.
public enum Checksum {
    /// The CRC-32 of the first `count` bytes of `bytes` (`count <= bytes.count`).
    public static func crc32(_ bytes: [UInt8], count: Int) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf in
            var crc: UInt = CZlib.crc32(0, nil, 0)
            var offset = 0
            // zlib's length is a uInt (32 bits): feed the bytes in chunks.
            while offset < count {
                let chunk = min(count - offset, 1 << 30)
                crc = CZlib.crc32(crc, buf.baseAddress! + offset, uInt(chunk))
                offset += chunk
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
