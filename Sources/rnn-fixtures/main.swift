// rnn-fixtures: regenerates fixtures/models/ and fixtures/corrupt/ deterministically.
//
//   swift run rnn-fixtures [ROOT]      (ROOT defaults to ./fixtures)
//
// The files and their expected error classes come from `FixtureCorpus` (RNNFixtureCorpus, a
// target in no product), so the test suite can regenerate the corpus in memory and check the
// committed files are current.
import RNNFixtureCorpus
import RNNSupport

let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "fixtures"

func fail(_ message: String) -> Never {
    print("rnn-fixtures: \(message)")
    exit(1)
}

func writeAll(_ items: [FixtureCorpus.Item], to directory: String) {
    if mkdir(root, 0o755) != 0 && errno != EEXIST { fail("cannot create \(root): \(String(cString: strerror(errno)))") }
    if mkdir(directory, 0o755) != 0 && errno != EEXIST { fail("cannot create \(directory): \(String(cString: strerror(errno)))") }
    for item in items {
        write(item.bytes, to: "\(directory)/\(item.file)")
    }
    write(FixtureCorpus.manifest(items), to: "\(directory)/manifest.json")
    let total = items.reduce(0) { $0 + $1.bytes.count }
    print("\(directory): \(items.count) files, \(total) bytes")
}

func write(_ bytes: [UInt8], to path: String) {
    guard let f = fopen(path, "wb") else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
    if !bytes.isEmpty && fwrite(bytes, 1, bytes.count, f) != bytes.count { fail("cannot write \(path)") }
    if fclose(f) != 0 { fail("cannot close \(path)") }
}

writeAll(FixtureCorpus.goodModels(), to: "\(root)/models")
writeAll(FixtureCorpus.corruptFiles(), to: "\(root)/corrupt")
