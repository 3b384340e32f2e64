import COpenSSL

/// SHA-256 digests (FIPS 180-4), computed by libcrypto.
public struct SHA256: Sendable {
    /// The SHA-256 of `bytes` as 64 lower-case hexadecimal digits.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        let hasher = SHA256Hasher()
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            hasher.update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalizeHex()
    }
}

/// An incremental SHA-256 over libcrypto's EVP interface, fed chunk by chunk while streaming.
final class SHA256Hasher {
    private let context: OpaquePointer?

    init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Adds `bytes` to the digest.
    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Finishes the digest and returns it as lower-case hexadecimal.
    func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        let table = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest.prefix(Int(length)) {
            text.append(table[Int(byte >> 4)])
            text.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
