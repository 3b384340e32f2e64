// libFuzzer entry point for stream lines (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift. Each input is one line, as
// `rnn-infer stream` would read it. Beyond "no trap" and one-line messages:
//   - the line as bytes and as a (repaired UTF-8) String agree when it is valid UTF-8;
//   - a step re-printed as JSON (Swift's shortest round-trip text) parses back to the same
//     values, bit for bit; `reset` and blank lines re-print as themselves;
//   - with `features` set to the step's count it parses the same; with one more or one fewer it
//     fails with exactly the expected count message;
//   - a line that parses is, without its surrounding whitespace, `reset`, or starts with `[` and
//     ends with `]`.

@_cdecl("LLVMFuzzerTestOneInput")
public func streamLineFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let line = parse(bytes, features: nil)
    if let text = String(validating: bytes, as: UTF8.self) {
        let fromString: Result<StreamLine, StreamLineError>
        do throws(StreamLineError) { fromString = .success(try StreamLine.parse(text)) } catch { fromString = .failure(error) }
        guard same(fromString, line) else { fatalError("bytes and String disagree: \(line) vs \(fromString)") }
    }
    guard case .success(let parsed) = line else { return 0 }

    let trimmed = bytes.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed().drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
    let core = Array(trimmed.reversed())
    switch parsed {
    case .empty:
        guard core.isEmpty, same(parse([], features: nil), line) else { fatalError("blank line: \(bytes)") }
    case .reset:
        guard core == Array("reset".utf8), same(parse(Array("reset".utf8), features: 3), line) else { fatalError("reset: \(bytes)") }
    case .step(let values):
        guard core.first == UInt8(ascii: "["), core.last == UInt8(ascii: "]"), !values.isEmpty,
              values.allSatisfy(\.isFinite) else { fatalError("step \(values) from \(bytes)") }
        let printed = Array(("[" + values.map { "\($0)" }.joined(separator: ", ") + "]").utf8)
        guard same(parse(printed, features: nil), line) else { fatalError("\(values) re-printed does not parse back") }
        guard same(parse(bytes, features: values.count), line) else { fatalError("with features = \(values.count)") }
        for wrong in [values.count - 1, values.count + 1] {
            guard case .failure(.featureCount(wrong, values.count)) = parse(bytes, features: wrong) else {
                fatalError("features = \(wrong) accepted \(values.count) values")
            }
        }
    }
    return 0
}

private func parse(_ bytes: [UInt8], features: Int?) -> Result<StreamLine, StreamLineError> {
    do throws(StreamLineError) {
        return .success(try StreamLine.parse(bytes, features: features))
    } catch {
        if error.description.contains("\n") { fatalError("a message of two lines: \(error)") }
        return .failure(error)
    }
}

/// Equal, with steps compared by their bits (-0.0 is not 0.0 here).
private func same(_ a: Result<StreamLine, StreamLineError>, _ b: Result<StreamLine, StreamLineError>) -> Bool {
    switch (a, b) {
    case (.success(.step(let x)), .success(.step(let y))): x.map(\.bitPattern) == y.map(\.bitPattern)
    default: a == b
    }
}
