// libFuzzer entry point for the words-v1 tokenizer and TokenEncoder (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNFormat/*.swift. Input layout: byte 0 picks
// the truncation end and, with byte 1, max_length (1 ... 65,536); then the vocabulary, one word
// per line, up to the first NUL byte; the rest is the text. Checks beyond "no trap":
//   - tokenizing is deterministic, and agrees with a naive reading of spec §6.2.1 (below);
//   - every word is something rule 4 can produce (`WordTokenizer.isWord`);
//   - every id is in 1 ..< vocabularySize (never padding), and a word's id names that word;
//   - the truncated sequence is the configured end of the full one, at most max_length long;
//   - streaming: the text's raw bytes (invalid UTF-8 included, as standard input may carry them),
//     fed to TokenSequence in chunks of 1 ... 8 bytes chosen by the input, give the spec's words
//     looked up by their bytes, truncated.

@_cdecl("LLVMFuzzerTestOneInput")
public func tokenizerFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let maxLength = (Int(bytes[0] & 0x7F) << 8 | Int(bytes[1])) % TokenInput.maxLengthLimit + 1
    let truncation: TokenInput.Truncation = bytes[0] & 0x80 == 0 ? .start : .end
    let rest = bytes[2...]
    let split = rest.firstIndex(of: 0) ?? rest.startIndex
    let vocabulary = rest[..<split].split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
    let text = String(decoding: rest[split...].dropFirst(), as: UTF8.self)

    let words = WordTokenizer.words(text.utf8)
    if words != WordTokenizer.words(text.utf8) { fatalError("tokenizing is not deterministic") }
    let expected = naiveWords(Array(text.utf8))
    if words.map(Array.init) != expected { fatalError("tokenizer disagrees with the spec reading: \(words.count) vs \(expected.count) words") }
    for word in WordTokenizer.words(in: text) where !WordTokenizer.isWord(word) {
        fatalError("tokenizer produced \(Array(word.utf8)), which is not a word")
    }

    let encoder = TokenEncoder(TokenInput(maxLength: maxLength, truncation: truncation, vocabulary: vocabulary))
    let vocabularySize = encoder.input.vocabularySize
    let all = encoder.allTokenIDs(text)
    if all.count != words.count { fatalError("\(all.count) ids for \(words.count) words") }
    for (id, word) in zip(all, words) {
        guard id >= Int32(TokenInput.outOfVocabularyID), Int(id) < vocabularySize else {
            fatalError("id \(id) outside 1 ..< \(vocabularySize)")
        }
        if id >= Int32(TokenInput.firstWordID),
           Array(vocabulary[Int(id) - TokenInput.firstWordID].utf8) != Array(word) {
            fatalError("id \(id) names another word")
        }
    }
    let ids = encoder.tokenIDs(text)
    let kept = Array(truncation == .start ? all.suffix(maxLength) : all.prefix(maxLength))
    if ids != kept || ids.count > maxLength { fatalError("truncation to \(maxLength) at the \(truncation) is wrong") }

    let raw = Array(rest[split...].dropFirst())
    var sequence = TokenSequence(encoder)
    var start = 0, k = 0
    while start < raw.count {
        let end = min(raw.count, start + 1 + Int(bytes[k % bytes.count] % 8))
        sequence.append(raw[start..<end])
        start = end
        k += 1
    }
    let streamed = sequence.finish()
    // A later duplicate of a word wins, as in the encoder's table (valid models have no duplicates).
    let byBytes = Dictionary(vocabulary.enumerated().map { (Array($1.utf8), Int32($0 + TokenInput.firstWordID)) },
                             uniquingKeysWith: { _, later in later })
    let rawAll = naiveWords(raw).map { byBytes[$0] ?? Int32(TokenInput.outOfVocabularyID) }
    let rawKept = Array(truncation == .start ? rawAll.suffix(maxLength) : rawAll.prefix(maxLength))
    if streamed != rawKept { fatalError("streamed ids \(streamed.count) differ from the spec's \(rawKept.count)") }
    return 0
}

/// Spec §6.2.1 read literally, written independently of `WordTokenizer`: lower-case ASCII,
/// replace each `<br />` (left to right) by a space, split on non-word bytes, trim `'`.
private func naiveWords(_ text: [UInt8]) -> [[UInt8]] {
    let lowered = text.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    let markup = Array("<br />".utf8)
    var cleaned: [UInt8] = []
    var i = 0
    while i < lowered.count {
        if lowered[i...].starts(with: markup) {
            cleaned += Array(repeating: 0x20, count: markup.count)
            i += markup.count
        } else {
            cleaned.append(lowered[i])
            i += 1
        }
    }
    let isWordByte = { (b: UInt8) in (0x61 ... 0x7A).contains(b) || (0x30 ... 0x39).contains(b) || b == 0x27 || b >= 0x80 }
    return cleaned.split(whereSeparator: { !isWordByte($0) }).compactMap { run in
        let trimmed = run.drop { $0 == 0x27 }.reversed().drop { $0 == 0x27 }.reversed()
        return trimmed.isEmpty ? nil : Array(trimmed)
    }
}
