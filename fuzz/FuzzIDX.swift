// libFuzzer entry point for the IDX readers, file and stream (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift. Each input is an IDX file
// (raw, or gzip when it starts with 1f 8b), read three ways that must agree:
//   1. the whole-file reader on a real regular file (`IDX.readImages`/`readLabels`), which
//      checks the length with fstat before reading;
//   2. the same reader on a stream of the same bytes (no length known, as for standard input);
//   3. for images, `IDXImageReader` batch by batch (batch size taken from the last input byte).
// They must all succeed with the same data, or all fail with the same kind of error. A trap,
// an ASan report or a disagreement is a finding. The byte-3 dimension count picks images (3)
// or labels (anything else).

import RNNSupport

/// A regular file on tmpfs (or /tmp), rewritten for each input.
private let scratchPath: String = {
    let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    atexit { unlink(scratchPath) }
    return "\(directory)/rnn-fuzz-idx-\(getpid())"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func idxFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    writeScratch(bytes)
    // The (decompressed) fourth byte is the dimension count.
    let head = try? stream(bytes).readBytes(4)
    let images = head?.count == 4 && head?[3] == 3
    let dimensions = images ? 3 : 1
    let fromFile = outcome { () throws(DatasetError) in
        images ? try IDX.readImages(at: scratchPath).pixels : try IDX.readLabels(at: scratchPath)
    }
    let fromStream = outcome { () throws(DatasetError) in
        let source = try stream(bytes)
        let header = try IDXHeader.read(from: source, dimensions: dimensions)
        return try IDX.readData(of: header, from: source, rawSize: nil)
    }
    agree(fromFile, fromStream, "file reader", "stream reader", bytes)
    if images {
        let batch = Int(bytes.last ?? 1) % 7 + 1
        let fromBatches = outcome { () throws(DatasetError) in
            let reader = try IDXImageReader(source: try stream(bytes), rawSize: nil)
            var pixels: [UInt8] = []
            while let next = try reader.nextBatch(maxImages: batch) {
                if next.count > batch || next.pixels.count != next.count * reader.height * reader.width {
                    fatalError("batch of \(next.count) images, \(next.pixels.count) pixels, asked for at most \(batch)")
                }
                pixels += next.pixels
            }
            if reader.imagesRead != reader.count { fatalError("read \(reader.imagesRead) of \(reader.count) images") }
            return pixels
        }
        agree(fromFile, fromBatches, "file reader", "batch reader", bytes)
    }
    return 0
}

private func stream(_ bytes: [UInt8]) throws(DatasetError) -> ByteSource {
    let memory = MemoryByteSource(bytes)
    return bytes.starts(with: [0x1F, 0x8B]) ? try GzipByteSource(upstream: memory) : memory
}

private func outcome(_ body: () throws(DatasetError) -> [UInt8]) -> Result<[UInt8], DatasetError> {
    do throws(DatasetError) { return .success(try body()) } catch { return .failure(error) }
}

/// The error's case, without its path and counts (a file and a stream report sizes differently).
private func kind(_ error: DatasetError) -> String {
    Mirror(reflecting: error).children.first?.label ?? "\(error)"
}

private func agree(_ a: Result<[UInt8], DatasetError>, _ b: Result<[UInt8], DatasetError>,
                   _ nameA: String, _ nameB: String, _ input: [UInt8]) {
    switch (a, b) {
    case (.success(let x), .success(let y)) where x == y:
        return
    case (.failure(let x), .failure(let y)) where kind(x) == kind(y):
        _ = x.description
        return
    default:
        fatalError("\(nameA) and \(nameB) disagree on \(input.count) bytes: \(a) vs \(b)")
    }
}

private func writeScratch(_ bytes: [UInt8]) {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fatalError("cannot create \(scratchPath)") }
    defer { close(fd) }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
        guard n > 0 else { fatalError("cannot write \(scratchPath)") }
        written += n
    }
}
