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
        var bytes = Array(text)
        let n = bytes.count
        // Rules 1 and 2 in one pass: the markup is matched after lower-casing, so `<BR />` counts too.
        let markup: [UInt8] = Array("<br />".utf8)
        for i in 0..<n where bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] |= 0x20 }
        var i = 0
        while i + markup.count <= n {
            if bytes[i] == 0x3C && bytes[i..<(i + markup.count)].elementsEqual(markup) {
                for k in i..<(i + markup.count) { bytes[k] = 0x20 }
                i += markup.count
            } else {
                i += 1
            }
        }
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        while start < n {
            while start < n && !isWordByte(bytes[start]) { start += 1 }
            var end = start
            while end < n && isWordByte(bytes[end]) { end += 1 }
            var lo = start, hi = end
            while lo < hi && bytes[lo] == 0x27 { lo += 1 }
            while hi > lo && bytes[hi - 1] == 0x27 { hi -= 1 }
            if lo < hi { result.append(bytes[lo..<hi]) }
            start = end
        }
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

/// Turns text into token ids with a model's vocabulary (spec §6.2.1); built once, then shared.
public struct TokenEncoder: Sendable {
    /// The pipeline this encoder applies.
    public let input: TokenInput
    private let ids: [WordBytes: Int32]

    public init(_ input: TokenInput) {
        self.input = input
        var ids: [WordBytes: Int32] = [:]
        ids.reserveCapacity(input.vocabulary.count)
        for (k, word) in input.vocabulary.enumerated() { ids[WordBytes(word)] = Int32(k + TokenInput.firstWordID) }
        self.ids = ids
    }

    /// The token ids of every word of `text`, before truncation.
    public func allTokenIDs(_ text: String) -> [Int32] {
        // Each word is a run of whole UTF-8 characters of a valid string, so decoding keeps its bytes.
        WordTokenizer.words(text.utf8).map { id(of: String(decoding: $0, as: UTF8.self)) }
    }

    /// The sequence the network reads: ``allTokenIDs(_:)`` truncated to `maxLength` at the configured end.
    /// It may be empty (a text without words); padding is never added.
    public func tokenIDs(_ text: String) -> [Int32] {
        truncate(allTokenIDs(text))
    }

    /// Cuts `ids` to `maxLength` tokens at the end the pipeline names.
    public func truncate(_ ids: [Int32]) -> [Int32] {
        guard ids.count > input.maxLength else { return ids }
        switch input.truncation {
        case .start: return Array(ids[(ids.count - input.maxLength)...])
        case .end: return Array(ids[..<input.maxLength])
        }
    }

    /// The id of `word`, or the out-of-vocabulary id.
    public func id(of word: String) -> Int32 { ids[WordBytes(word)] ?? Int32(TokenInput.outOfVocabularyID) }
}

/// A word that is equal to another only when their UTF-8 bytes are, as spec §6.2.1 looks words up.
///
/// `String` itself compares by canonical equivalence, so as a dictionary key it gave `"cafe\u{301}"`
/// the id of the vocabulary word `"café"` (U+00E9), unlike the spec and the Python reference (found
/// by `fuzz/run.sh tokenizer`). Wrapping the `String` rather than copying its bytes into an array
/// keeps short words inline, without an allocation per word.
private struct WordBytes: Hashable {
    let word: String

    init(_ word: String) { self.word = word }

    static func == (a: WordBytes, b: WordBytes) -> Bool { a.word.utf8.elementsEqual(b.word.utf8) }

    func hash(into hasher: inout Hasher) {
        var word = word
        word.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
