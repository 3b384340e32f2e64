/// An `embedding` layer (spec §6.1, since 1.1): token id `k` becomes row `k` of `W`.
///
/// It is always the first layer of a model whose input kind is `tokens` (spec §6.2.1), and it
/// turns the sequence of token ids into the sequence of `dimension`-wide vectors the next layer reads.
public struct EmbeddingLayer: Sendable, Equatable {
    /// The layer's unique name.
    public var name: String
    /// Rows of `W`: every token id is in `0 ..< vocabularySize` (id 0 is padding, id 1 out-of-vocabulary).
    public var vocabularySize: Int
    /// Columns of `W`: the width of each output vector.
    public var dimension: Int
    /// Tensor name of `W`, shape `[vocabularySize, dimension]`.
    public var weight: String

    public init(name: String, vocabularySize: Int, dimension: Int, weight: String) {
        self.name = name
        self.vocabularySize = vocabularySize
        self.dimension = dimension
        self.weight = weight
    }
}

/// The text pipeline of a `tokens` input (spec §6.2.1, since 1.1): how a review becomes token ids.
///
/// Stored in the model file so that every reader tokenizes exactly as the trainer did: the
/// tokenizer's rules are fixed by name (`words-v1`), the vocabulary and the length are data.
public struct TokenInput: Sendable, Equatable {
    /// The tokenizer rules (spec §6.2.1); `words-v1` is the only one in 1.1.
    public enum Tokenizer: String, Sendable, Equatable {
        /// ASCII lower-casing, `<br />` removal, maximal runs of word bytes, apostrophes trimmed.
        case wordsV1 = "words-v1"
    }
    /// Which end of a sequence longer than ``maxLength`` is cut off.
    public enum Truncation: String, Sendable, Equatable {
        /// Drop tokens from the start: the last `maxLength` tokens are kept (reviews end with the verdict).
        case start
        /// Drop tokens from the end: the first `maxLength` tokens are kept.
        case end
    }

    /// Id of the padding token: never produced by tokenization, so it never reaches a layer (spec §6.2.1).
    public static let paddingID = 0
    /// Id of every word that is not in the vocabulary.
    public static let outOfVocabularyID = 1
    /// Id of `vocabulary[0]`; word `k` has id `k + firstWordID`.
    public static let firstWordID = 2

    public var tokenizer: Tokenizer
    /// The most tokens a sequence keeps, 1 ... 65,536.
    public var maxLength: Int
    public var truncation: Truncation
    /// The words with ids `2, 3, ...`, most frequent first (as the trainer built it).
    public var vocabulary: [String]

    public init(tokenizer: Tokenizer = .wordsV1, maxLength: Int, truncation: Truncation = .start, vocabulary: [String]) {
        self.tokenizer = tokenizer
        self.maxLength = maxLength
        self.truncation = truncation
        self.vocabulary = vocabulary
    }

    /// `vocabulary.count + 2`: the number of rows the embedding needs.
    public var vocabularySize: Int { vocabulary.count + Self.firstWordID }

    /// The largest `max_length` the format allows.
    public static let maxLengthLimit = 65_536
}

extension InputContract {
    /// A `tokens` input contract (spec §6.2.1). `height` holds `maxLength` (the most time steps) and
    /// `width` is 1 (one token id per step); `scale` and `offset` are unused (1 and 0).
    public init(tokens: TokenInput) {
        self.init(kind: .tokens, height: tokens.maxLength, width: 1, scale: 1, offset: 0)
        self.tokens = tokens
    }
}

/// The `words-v1` tokenizer of spec §6.2.1, on the UTF-8 bytes of a text.
///
/// 1. Every ASCII `A`-`Z` becomes `a`-`z`; no other byte changes (no Unicode case folding).
/// 2. Every occurrence of the 6 bytes `<br />` becomes a space (0x20), scanning left to right.
/// 3. Words are the maximal runs of *word bytes*: `a`-`z`, `0`-`9`, `'` (0x27) and every byte >= 0x80
///    (so a multi-byte UTF-8 character is never split).
/// 4. Leading and trailing `'` are removed from each word; a word that becomes empty is dropped.
public enum WordTokenizer {
    /// Whether `b` belongs to a word after lower-casing (rule 3).
    @inlinable
    public static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x27 || b >= 0x80
    }

    /// The words of `text`, in order, as byte arrays.
    public static func words(_ text: some Collection<UInt8>) -> [ArraySlice<UInt8>] {
        var scanner = WordScanner()
        var result: [ArraySlice<UInt8>] = []
        let keep = { (word: WordScanner.Word) in if case .word(let bytes) = word { result.append(bytes) } }
        scanner.scan(text, keep)
        scanner.finish(keep)
        return result
    }

    /// The words of `text` as strings.
    public static func words(in text: String) -> [String] {
        words(text.utf8).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `word` is something rule 4 can produce: non-empty, only word bytes, no ASCII capitals,
    /// not starting or ending with `'`, and without the letters of a `<br />` (it has none: `<` is not a word byte).
    public static func isWord(_ word: String) -> Bool {
        let b = Array(word.utf8)
        guard let first = b.first, let last = b.last, first != 0x27, last != 0x27 else { return false }
        return b.allSatisfy(isWordByte)
    }
}

/// The `words-v1` rules as a byte-at-a-time state machine, so that a text of any length can be
/// tokenized as it arrives, in chunks split anywhere, with memory bounded by the longest word kept.
///
/// It is the only implementation of the rules (``WordTokenizer/words(_:)`` and ``TokenSequence``
/// run it). Rule 2 needs look-ahead: the bytes of a possible `<br />` are held back (at most 5, and
/// only their count, since they are a known prefix of the markup) until the markup completes (one
/// separator) or fails (the held bytes are processed as ordinary bytes, then the new byte afresh;
/// no match can start inside them, because `<` occurs in the markup only at its start).
/// Rule 4 needs the end of a run: leading `'` are skipped as they arrive, and the position of the
/// last byte that is not `'` tells where the trailing `'` begin.
public struct WordScanner: Sendable {
    /// What the scanner found at the end of a run of word bytes.
    public enum Word: Sendable, Equatable {
        /// A word (rule 4 applied).
        case word(ArraySlice<UInt8>)
        /// A word longer than `maxWordBytes`, whose bytes were not kept (no vocabulary has it).
        case overlong
    }

    private static let markup: [UInt8] = Array("<br />".utf8)
    /// The longest word whose bytes are kept.
    public let maxWordBytes: Int
    private var heldMarkup = 0        // bytes of `markup` matched and not yet processed
    private var inRun = false         // inside a run of word bytes
    private var run: [UInt8] = []     // the run after its leading `'`, at most maxWordBytes bytes kept
    private var runLength = 0         // bytes of the run after its leading `'`, kept or not
    private var wordLength = 0        // up to and including the last byte that is not `'`

    /// - Parameter maxWordBytes: words longer than this are reported as ``Word/overlong``
    ///   (unbounded by default).
    public init(maxWordBytes: Int = .max) {
        self.maxWordBytes = maxWordBytes
    }

    /// Scans `bytes`, calling `emit` for each word that ends inside them.
    public mutating func scan(_ bytes: some Sequence<UInt8>, _ emit: (Word) -> Void) {
        // The hot loop runs on contiguous bytes, not through the generic Sequence: callers in other
        // modules would otherwise iterate an unspecialized generic, one witness call per byte.
        let done: Void? = bytes.withContiguousStorageIfAvailable { scan(buffer: $0, emit) }
        if done == nil { Array(bytes).withUnsafeBufferPointer { scan(buffer: $0, emit) } }
    }

    /// The state machine over one contiguous piece of the text.
    private mutating func scan(buffer bytes: UnsafeBufferPointer<UInt8>, _ emit: (Word) -> Void) {
        for raw in bytes {
            let b = raw >= 0x41 && raw <= 0x5A ? raw | 0x20 : raw          // rule 1
            if heldMarkup > 0 {
                if b == Self.markup[heldMarkup] {
                    heldMarkup += 1
                    if heldMarkup == Self.markup.count {                   // rule 2: a separator
                        heldMarkup = 0
                        endRun(emit)
                    }
                    continue
                }
                releaseHeldMarkup(emit)
            }
            if b == 0x3C {
                heldMarkup = 1
            } else {
                process(b, emit)
            }
        }
    }

    /// Ends the text: processes held bytes and emits the last word. The scanner is then empty.
    public mutating func finish(_ emit: (Word) -> Void) {
        releaseHeldMarkup(emit)
        endRun(emit)
    }

    private mutating func releaseHeldMarkup(_ emit: (Word) -> Void) {
        for k in 0..<heldMarkup { process(Self.markup[k], emit) }
        heldMarkup = 0
    }

    private mutating func process(_ b: UInt8, _ emit: (Word) -> Void) {
        guard WordTokenizer.isWordByte(b) else { return endRun(emit) }   // rule 3
        inRun = true
        if runLength == 0 && b == 0x27 { return }                       // rule 4: a leading '
        if run.count < maxWordBytes { run.append(b) }
        runLength += 1
        if b != 0x27 { wordLength = runLength }
    }

    private mutating func endRun(_ emit: (Word) -> Void) {
        guard inRun else { return }
        if wordLength > 0 {                                              // rule 4: trailing ' dropped
            emit(wordLength <= run.count ? .word(run[..<wordLength]) : .overlong)
        }
        inRun = false
        run.removeAll(keepingCapacity: true)
        runLength = 0
        wordLength = 0
    }
}

/// Turns text into token ids with a model's vocabulary (spec §6.2.1); built once, then shared.
public struct TokenEncoder: Sendable {
    /// The pipeline this encoder applies.
    public let input: TokenInput
    /// Keyed by the words' UTF-8 bytes (``UTF8Key``), not by `String`: Swift compares strings by
    /// canonical equivalence, so `"cafe\u{301}"` would get the id of the vocabulary word `"café"`
    /// (U+00E9), whereas spec §6.2.1 looks words up by their bytes, as the Python reference does
    /// (found by `fuzz/run.sh tokenizer`).
    private let ids: [UTF8Key: Int32]

    /// The length in bytes of the longest vocabulary word: longer words need not be kept.
    public let longestWordBytes: Int

    public init(_ input: TokenInput) {
        self.input = input
        longestWordBytes = input.vocabulary.map(\.utf8.count).max() ?? 0
        var ids: [UTF8Key: Int32] = [:]
        ids.reserveCapacity(input.vocabulary.count)
        for (k, word) in input.vocabulary.enumerated() { ids[UTF8Key(word)] = Int32(k + TokenInput.firstWordID) }
        self.ids = ids
    }

    /// The token ids of every word of `text`, before truncation.
    public func allTokenIDs(_ text: String) -> [Int32] {
        var scanner = WordScanner(maxWordBytes: longestWordBytes)
        var result: [Int32] = []
        let keep = { (word: WordScanner.Word) in result.append(id(of: word)) }
        scanner.scan(text.utf8, keep)
        scanner.finish(keep)
        return result
    }

    /// The sequence the network reads: ``allTokenIDs(_:)`` truncated to `maxLength` at the configured end.
    /// It may be empty (a text without words); padding is never added.
    public func tokenIDs(_ text: String) -> [Int32] {
        var sequence = TokenSequence(self)
        sequence.append(text.utf8)
        return sequence.finish()
    }

    /// Cuts `ids` to `maxLength` tokens at the end the pipeline names.
    public func truncate(_ ids: [Int32]) -> [Int32] {
        guard ids.count > input.maxLength else { return ids }
        switch input.truncation {
        case .start: return Array(ids[(ids.count - input.maxLength)...])
        case .end: return Array(ids[..<input.maxLength])
        }
    }

    /// The id of a scanned word: an overlong word is in no vocabulary.
    public func id(of word: WordScanner.Word) -> Int32 {
        switch word {
        case .word(let bytes): UTF8Key(validating: bytes).flatMap { ids[$0] } ?? Int32(TokenInput.outOfVocabularyID)
        case .overlong: Int32(TokenInput.outOfVocabularyID)
        }
    }

    /// The id of `word`, or the out-of-vocabulary id.
    public func id(of word: String) -> Int32 { ids[UTF8Key(word)] ?? Int32(TokenInput.outOfVocabularyID) }
}

/// One text's token ids, built as its bytes arrive (spec §6.2.1): memory is bounded by `maxLength`
/// ids and the longest vocabulary word, whatever the text's length (a 100 MB line included).
public struct TokenSequence: Sendable {
    private let encoder: TokenEncoder
    private var scanner: WordScanner
    private var ids: [Int32] = []

    public init(_ encoder: TokenEncoder) {
        self.encoder = encoder
        scanner = WordScanner(maxWordBytes: encoder.longestWordBytes)
    }

    /// Tokenizes the next bytes of the text (a chunk may end anywhere, even inside a character).
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        var ids = self.ids
        self.ids = []
        scanner.scan(bytes) { Self.keep(encoder.id(of: $0), in: &ids, encoder.input) }
        self.ids = ids
    }

    /// The truncated sequence (``TokenEncoder/tokenIDs(_:)``); the builder is then empty, ready for the next text.
    public mutating func finish() -> [Int32] {
        var ids = self.ids
        scanner.finish { Self.keep(encoder.id(of: $0), in: &ids, encoder.input) }
        self.ids = []
        return encoder.truncate(ids)
    }

    /// Appends `id`, keeping at most what truncation can return: the first `maxLength` ids (`end`), or
    /// the last `maxLength` (`start`, dropping the older half whenever `2 maxLength` accumulate).
    private static func keep(_ id: Int32, in ids: inout [Int32], _ input: TokenInput) {
        switch input.truncation {
        case .end:
            if ids.count < input.maxLength { ids.append(id) }
        case .start:
            if ids.count == 2 * input.maxLength { ids.removeFirst(input.maxLength) }
            ids.append(id)
        }
    }
}
