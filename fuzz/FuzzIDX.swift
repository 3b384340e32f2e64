// libFuzzer entry point for the IDX readers, file and stream (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift and fuzz/FuzzSupport.swift
// (the scratch file, `outcome`, `agree`). Each input is an IDX file
// (raw, or gzip when it starts with 1f 8b), read three ways that must agree:
//   1. the whole-file reader on a real regular file (`IDX.readImages`/`readLabels`), which
//      checks the length with fstat before reading;
//   2. the same reader on a stream of the same bytes (no length known, as for standard input);
//   3. for images, `IDXImageReader` batch by batch (batch size taken from the last input byte).
// They must all succeed with the same data, or all fail with the same kind of error. A trap,
// an ASan report or a disagreement is a finding. The byte-3 dimension count picks images (3)
// or labels (anything else).

import RNNSupport

private let scratch = ScratchFile("idx")

@_cdecl("LLVMFuzzerTestOneInput")
public func idxFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    scratch.write(bytes)
    // The (decompressed) fourth byte is the dimension count.
    let head = try? stream(bytes).readBytes(4)
    let images = head?.count == 4 && head?[3] == 3
    let dimensions = images ? 3 : 1
    let fromFile = outcome { () throws(DatasetError) in
        images ? try IDX.readImages(at: scratch.path).pixels : try IDX.readLabels(at: scratch.path)
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
