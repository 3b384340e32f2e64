import Foundation

/// A text with a class label.
public struct TextExample: Sendable, Equatable {
    /// The text, decoded as UTF-8 (invalid bytes become U+FFFD), unmodified otherwise.
    public var text: String
    /// The class index: for IMDb 0 = negative, 1 = positive.
    public var label: UInt8
    /// The review's star rating (1...10) from its file name `ID_RATING.txt`.
    public var rating: Int
    /// The review's id from its file name, unique within a split and label.
    public var id: Int
}

/// Labelled texts split into training and test halves.
public struct TextDatasetSplits: Sendable {
    /// Training examples, negatives first, each label in increasing id order.
    public var train: [TextExample]
    /// Test examples, in the same order.
    public var test: [TextExample]
    /// Class names in label order.
    public var classNames: [String]
}

/// The Large Movie Review Dataset v1.0 (Maas et al., ACL 2011): 25,000 training and 25,000 test
/// movie reviews from IMDb, labelled negative (rating <= 4) or positive (rating >= 7).
///
/// Reads the layout `aclImdb/{train,test}/{neg,pos}/ID_RATING.txt` either from a directory or
/// straight from the `.tar.gz` (or `.tar`), which is streamed, never unpacked to disk. The
/// unlabelled `train/unsup` reviews and every other file are skipped.
public enum IMDb {
    /// Class names in label order.
    public static let classNames = ["negative", "positive"]
    /// The largest review accepted (the longest real one is about 14 KB).
    public static let maximumReviewBytes = 1 << 20

    /// Loads the reviews from `path`: a `.tar.gz`/`.tar` archive, the `aclImdb` directory, or
    /// a directory containing `aclImdb`.
    public static func load(from path: String) throws(DatasetError) -> TextDatasetSplits {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        var examples = isDirectory.boolValue ? try readDirectory(path) : try readArchive(path)
        // Archive order and directory listing order differ; sort so both give the same result.
        for split in examples.keys {
            examples[split]?.sort { ($0.label, $0.id) < ($1.label, $1.id) }
        }
        return TextDatasetSplits(train: examples["train"] ?? [], test: examples["test"] ?? [], classNames: classNames)
    }

    /// The split and example a member path such as `aclImdb/train/pos/123_9.txt` names, if any.
    static func classify(path: String) -> (split: String, label: UInt8, id: Int, rating: Int)? {
        let parts = path.split(separator: "/")
        guard parts.count >= 3 else { return nil }
        let split = String(parts[parts.count - 3])
        let folder = parts[parts.count - 2]
        let file = parts[parts.count - 1]
        guard split == "train" || split == "test", folder == "pos" || folder == "neg", file.hasSuffix(".txt") else {
            return nil
        }
        let stem = file.dropLast(4).split(separator: "_")
        guard stem.count == 2, let id = Int(stem[0]), let rating = Int(stem[1]) else { return nil }
        return (split, folder == "pos" ? 1 : 0, id, rating)
    }

    private static func readArchive(_ path: String) throws(DatasetError) -> [String: [TextExample]] {
        let (source, _, _) = try openDecompressedSource(path: path)
        let tar = TarReader(source: source)
        var examples: [String: [TextExample]] = [:]
        while let entry = try tar.nextEntry() {
            guard entry.isRegularFile, let place = classify(path: entry.name) else { continue }
            let bytes = try tar.readData(limit: maximumReviewBytes)
            examples[place.split, default: []].append(TextExample(
                text: String(decoding: bytes, as: UTF8.self), label: place.label, rating: place.rating, id: place.id))
        }
        return examples
    }

    private static func readDirectory(_ path: String) throws(DatasetError) -> [String: [TextExample]] {
        let manager = FileManager.default
        let root = manager.fileExists(atPath: path + "/aclImdb/train") ? path + "/aclImdb" : path
        var examples: [String: [TextExample]] = [:]
        for split in ["train", "test"] {
            for folder in ["neg", "pos"] {
                let directory = root + "/" + split + "/" + folder
                guard let names = try? manager.contentsOfDirectory(atPath: directory) else {
                    throw .fileNotFound(path: directory)
                }
                for name in names {
                    guard let place = classify(path: split + "/" + folder + "/" + name) else { continue }
                    let file = directory + "/" + name
                    let source = try FileByteSource(path: file)
                    guard let size = source.regularFileSize, size <= maximumReviewBytes else {
                        throw .unreadable(path: file, detail: "not a regular file of at most \(maximumReviewBytes) bytes")
                    }
                    let bytes = try source.readBytes(size)
                    examples[split, default: []].append(TextExample(
                        text: String(decoding: bytes, as: UTF8.self), label: place.label, rating: place.rating, id: place.id))
                }
            }
        }
        return examples
    }
}
