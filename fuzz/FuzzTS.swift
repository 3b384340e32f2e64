// libFuzzer entry point for the UEA/UCR .ts reader (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift. Each input is a .ts file's
// text. Beyond "no trap" and one-line messages naming a line within the input:
//   - a parsed file holds one length per series, one label per series or none (no label column),
//     one target per series or none (not regression), `lengths[i] * F` finite values per series,
//     and class indices inside the @classLabel list;
//   - the same text with CRLF line ends reads the same (or fails the same way on the same line);
//   - a parsed file written back as .ts text (here, independently of the reader: values as Swift's
//     shortest round-trip text) reads back to the same series, bit for bit, and labels.

@_cdecl("LLVMFuzzerTestOneInput")
public func tsFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
    let result = read(bytes, lines: lines)
    let crlf = Array(bytes.split(separator: 0x0A, omittingEmptySubsequences: false).joined(separator: [0x0D, 0x0A]))
    let again = read(crlf, lines: lines)
    switch (result, again) {
    case (.success(let x), .success(let y)) where same(x, y): break
    case (.failure(.timeSeries(_, let a, let x)), .failure(.timeSeries(_, let b, let y)))
        where a == b && Mirror(reflecting: x).children.first?.label == Mirror(reflecting: y).children.first?.label: break
    default: fatalError("LF and CRLF disagree: \(result) vs \(again)")
    }
    guard case .success(let dataset) = result else { return 0 }

    let sequences = dataset.sequences
    let n = sequences.count
    guard sequences.features >= 1, sequences.lengths.count == n,
          dataset.labels.isEmpty || dataset.labels.count == n,
          dataset.targets.isEmpty || dataset.targets.count == n,
          zip(sequences.values, sequences.lengths).allSatisfy({ $0.count == $1 * sequences.features }),
          sequences.values.allSatisfy({ $0.allSatisfy(\.isFinite) }),
          dataset.classIndices.allSatisfy({ dataset.classLabels.indices.contains($0) }),
          dataset.classLabels.isEmpty || dataset.classIndices.count == n else {
        fatalError("inconsistent data set: \(n) series, lengths \(sequences.lengths), \(dataset.labels.count) labels")
    }
    let written = Array(text(of: dataset).utf8)
    guard case .success(let reread) = read(written, lines: nil), same(dataset, reread) else {
        fatalError("written back, it does not read back: \(read(written, lines: nil))")
    }
    return 0
}

private func read(_ bytes: [UInt8], lines: Int?) -> Result<TSDataset, DatasetError> {
    do throws(DatasetError) {
        return .success(try TSDataset.parse(bytes))
    } catch {
        guard case .timeSeries(_, let line, _) = error, line >= 0, line <= (lines ?? .max),
              !error.description.contains("\n") else {
            fatalError("error \(error) for a text of \(lines ?? -1) lines")
        }
        return .failure(error)
    }
}

/// Equal, with floats compared by their bits (-0.0 is not 0.0 here).
private func same(_ a: TSDataset, _ b: TSDataset) -> Bool {
    a.problemName == b.problemName && a.labels == b.labels && a.classLabels == b.classLabels
        && a.targets.map(\.bitPattern) == b.targets.map(\.bitPattern)
        && a.sequences.features == b.sequences.features && a.sequences.lengths == b.sequences.lengths
        && a.sequences.values.map { $0.map(\.bitPattern) } == b.sequences.values.map { $0.map(\.bitPattern) }
}

/// `dataset` as .ts text: the header it implies, then one line per series, dimension-major.
private func text(of dataset: TSDataset) -> String {
    let f = dataset.sequences.features
    var lines: [String] = []
    if let name = dataset.problemName { lines.append("@problemName \(name)") }
    lines.append("@dimensions \(f)")
    if !dataset.classLabels.isEmpty {
        lines.append("@classLabel true " + dataset.classLabels.joined(separator: " "))
    } else if !dataset.targets.isEmpty || (!dataset.labels.isEmpty) {
        lines.append("@targetLabel true")
    } else {
        lines.append("@classLabel false")
    }
    lines.append("@data")
    for (index, values) in dataset.sequences.values.enumerated() {
        let steps = dataset.sequences.lengths[index]
        var fields = (0 ..< f).map { d in (0 ..< steps).map { "\(values[$0 * f + d])" }.joined(separator: ",") }
        if !dataset.labels.isEmpty { fields.append(dataset.labels[index]) }
        lines.append(fields.joined(separator: ":"))
    }
    return lines.joined(separator: "\n") + "\n"
}
