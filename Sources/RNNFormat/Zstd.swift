import CZstd

/// One-frame zstd compression and bounded decompression (spec §2.2, codec 1).
package enum Zstd {
    /// Compresses `input` into one frame whose header declares the content size.
    package static func compress(_ input: [UInt8], level: Int32) throws(ModelFormatError) -> [UInt8] {
        guard level >= ZSTD_minCLevel(), level <= ZSTD_maxCLevel(), level != 0 else {
            throw .malformed("zstd level \(level) is out of range; expected 1 ... \(ZSTD_maxCLevel()) (or a negative fast level down to \(ZSTD_minCLevel()))")
        }
        guard let cctx = ZSTD_createCCtx() else { throw .io("zstd: cannot allocate a compression context") }
        defer { ZSTD_freeCCtx(cctx) }
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            input.withUnsafeBytes { src in
                // ZSTD_compressCCtx writes the content size into the frame header (contentSizeFlag
                // defaults to 1) and no checksum: the file's CRC-32 covers the payload.
                ZSTD_compressCCtx(cctx, dst.baseAddress, dst.count, src.baseAddress, src.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw .io("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses `bytes[range]`, which must be exactly one frame declaring `size` content bytes.
    ///
    /// `size` has already been checked against the limits and against everything the file says
    /// about the content (spec §7 step 8); the output buffer is exactly `size` bytes, allocated
    /// with ``CheckedBuffer`` so that a process without that much memory gets an error.
    static func decompress(_ bytes: [UInt8], range: Range<Int>, size: Int, what: String) throws(ModelFormatError) -> CheckedBuffer {
        let result: Result<CheckedBuffer, ModelFormatError> = bytes.withUnsafeBytes { all in
            let src = UnsafeRawBufferPointer(rebasing: all[range])
            // A zstd data frame starts with 28 B5 2F FD; skippable frames and anything else are refused.
            if src.count < 4 || src[0] != 0x28 || src[1] != 0xB5 || src[2] != 0x2F || src[3] != 0xFD {
                return .failure(.malformed("\(what): the payload does not start with the zstd frame magic 28 B5 2F FD"))
            }
            let declared = ZSTD_getFrameContentSize(src.baseAddress, src.count)
            if declared == ZSTD_CONTENTSIZE_ERROR {
                return .failure(.malformed("\(what): the payload is not a zstd frame (bad frame header)"))
            }
            if declared == ZSTD_CONTENTSIZE_UNKNOWN {
                return .failure(.malformed("\(what): the zstd frame does not declare its content size; spec §2.2 requires it"))
            }
            if declared != UInt64(size) {
                return .failure(.malformed("\(what): the zstd frame declares \(declared) content bytes; the directory says size = \(size)"))
            }
            let frameSize = ZSTD_findFrameCompressedSize(src.baseAddress, src.count)
            if ZSTD_isError(frameSize) != 0 {
                return .failure(.malformed("\(what): the zstd frame is damaged or incomplete (\(String(cString: ZSTD_getErrorName(frameSize))))"))
            }
            if frameSize != src.count {
                return .failure(.malformed("\(what): the zstd frame is \(frameSize) bytes; the directory says stored_size = \(src.count) (exactly one frame, nothing after it)"))
            }
            let out: CheckedBuffer
            do throws(ModelFormatError) { out = try CheckedBuffer(count: size, for: what) } catch { return .failure(error) }
            guard let dctx = ZSTD_createDCtx() else { return .failure(.io("zstd: cannot allocate a decompression context")) }
            defer { ZSTD_freeDCtx(dctx) }
            let n = ZSTD_decompressDCtx(dctx, out.base, size, src.baseAddress, src.count)
            if ZSTD_isError(n) != 0 {
                return .failure(.malformed("\(what): zstd decompression failed (\(String(cString: ZSTD_getErrorName(n)))); the frame does not produce exactly the declared \(size) bytes"))
            }
            if n != size {
                return .failure(.malformed("\(what): zstd produced \(n) bytes; the directory says size = \(size)"))
            }
            return .success(out)
        }
        return try result.get()
    }
}
