/// Appends little-endian integers to a byte array (spec §1).
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { append(v) }
    mutating func u32(_ v: UInt32) { append(v) }
    mutating func u64(_ v: UInt64) { append(v) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Zero padding up to the next multiple of 64 (spec §1, `align64`).
    mutating func padTo64() {
        let rem = bytes.count % Format.alignment
        if rem != 0 { zeros(Format.alignment - rem) }
    }

    private mutating func append<T: FixedWidthInteger>(_ v: T) {
        var le = v.littleEndian
        withUnsafeBytes(of: &le) { bytes.append(contentsOf: $0) }
    }
}

/// Little-endian reads at offsets already checked by the caller to lie within `bytes`.
extension Array where Element == UInt8 {
    func le<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size {
            v |= T(truncatingIfNeeded: self[offset + i]) << (8 * i)
        }
        return v
    }
    package func u16(at o: Int) -> UInt16 { le(UInt16.self, at: o) }
    package func u32(at o: Int) -> UInt32 { le(UInt32.self, at: o) }
    package func u64(at o: Int) -> UInt64 { le(UInt64.self, at: o) }

    /// The offset of the first byte equal to `value` in `range`, if any.
    func firstIndex(of value: UInt8, in range: Range<Int>) -> Int? {
        for i in range where self[i] == value { return i }
        return nil
    }

    /// The offset of the first nonzero byte in `range`, if any.
    func firstNonzero(in range: Range<Int>) -> Int? {
        withUnsafeBufferPointer { buf in
            for i in range where buf[i] != 0 { return i }
            return nil
        }
    }
}

/// Formats a byte count or offset for messages.
func hex(_ v: some BinaryInteger) -> String { "0x" + String(v, radix: 16) }

/// A string compared and hashed by its UTF-8 bytes, i.e. by code points.
///
/// Swift's `String ==` is Unicode canonical equivalence: U+212A KELVIN SIGN equals "K", and "é"
/// equals "e" + U+0301. The spec compares names, JSON member names and vocabulary words as
/// sequences of code points (§6), as Python's `str` and every byte-oriented reader do; a `Set` or
/// `Dictionary` of these keys follows it.
///
/// It wraps the `String` rather than copying its bytes into an array: short strings (up to 15 bytes,
/// most words) stay inline, so building a key to look a word up allocates nothing. (Keyed by
/// `[UInt8]`, the tokenizer's lookups were about 50 % slower.)
package struct UTF8Key: Hashable, Sendable {
    /// The string; compare its `utf8` view, never the string itself.
    package let text: String

    package init(_ text: String) { self.text = text }

    /// The key of these bytes, or `nil` if they are not valid UTF-8 (no `String`, so no name or
    /// vocabulary word, has such bytes).
    package init?(validating bytes: ArraySlice<UInt8>) {
        var text = String(decoding: bytes, as: UTF8.self)  // invalid sequences become U+FFFD...
        let same = text.withUTF8 { decoded in                // ...so a change means invalid
            bytes.withUnsafeBufferPointer { decoded.elementsEqual($0) }
        }
        guard same else { return nil }
        self.text = text
    }

    /// The UTF-8 bytes.
    package var bytes: String.UTF8View { text.utf8 }

    package static func == (a: UTF8Key, b: UTF8Key) -> Bool {
        var a = a.text, b = b.text
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    package func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
