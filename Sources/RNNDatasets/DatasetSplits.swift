import Foundation

/// A data set's training and test halves, read from its four IDX files and checked.
public struct DatasetSplits: Sendable {
    /// The data set these splits are.
    public var dataset: ImageDataset
    /// The training examples (60,000 for MNIST and Fashion-MNIST).
    public var train: LabeledImages
    /// The test examples (10,000 for MNIST and Fashion-MNIST).
    public var test: LabeledImages
    /// SHA-256 of each file's decompressed bytes, keyed by file name without `.gz`
    /// (for provenance records).
    public var sha256: [String: String]
    /// The directory the files were read from.
    public var directory: String

    /// Class names in label order.
    public var classNames: [String] { dataset.classNames }

    /// Loads `dataset` from the directory ``DatasetLocator`` resolves, downloading missing files
    /// first when `allowDownload` is set.
    ///
    /// - Parameters:
    ///   - directory: an explicit directory (a `--data DIR` option); `nil` falls back to the
    ///     environment variable, then to the default directory.
    ///   - environment: where `$MNIST_DIR`, `$FASHION_MNIST_DIR` and `$RNN_DATASET_MIRROR` are read.
    ///   - allowDownload: download missing files from the mirror (`$RNN_DATASET_MIRROR` or the
    ///     data set's ``ImageDataset/defaultMirror``).
    ///   - verifyChecksums: compare each file's SHA-256 with the published value; turn off only
    ///     for data sets of your own in the same format.
    public static func load(_ dataset: ImageDataset, directory: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            allowDownload: Bool = true,
                            verifyChecksums: Bool = true) throws(DatasetError) -> DatasetSplits {
        let locator = DatasetLocator(dataset: dataset, directory: directory, environment: environment)
        let downloader = allowDownload ? DatasetDownloader(dataset: dataset, environment: environment) : nil
        return try load(from: locator, downloader: downloader, verifyChecksums: verifyChecksums)
    }

    /// Loads the data set `locator` points at; missing files are fetched with `downloader`
    /// (or reported, when it is `nil`).
    public static func load(from locator: DatasetLocator, downloader: DatasetDownloader?,
                            verifyChecksums: Bool = true) throws(DatasetError) -> DatasetSplits {
        let dataset = locator.dataset
        let missing = locator.missingFiles()
        if !missing.isEmpty {
            guard let downloader else {
                throw .missingFiles(dataset: dataset.description, directory: locator.directory,
                                    files: missing.map(\.name))
            }
            try downloader.download(missing, into: locator.directory)
        }
        var checksums: [String: String] = [:]
        func path(_ file: DatasetFile) throws(DatasetError) -> String {
            guard let path = locator.path(of: file) else {
                throw .missingFiles(dataset: dataset.description, directory: locator.directory, files: [file.name])
            }
            return path
        }
        func record(_ file: DatasetFile, _ path: String, _ digest: String) throws(DatasetError) {
            if verifyChecksums && digest != file.sha256 {
                throw .checksumMismatch(file: path, expected: file.sha256, found: digest)
            }
            checksums[file.name] = digest
        }
        func split(_ split: DatasetFile.Split) throws(DatasetError) -> LabeledImages {
            let imageFile = dataset.file(split, .images)
            let labelFile = dataset.file(split, .labels)
            let imagePath = try path(imageFile)
            let labelPath = try path(labelFile)
            let (images, imageDigest) = try IDX.readImagesHashing(at: imagePath)
            try record(imageFile, imagePath, imageDigest)
            let (labels, labelDigest) = try IDX.readLabelsHashing(at: labelPath)
            try record(labelFile, labelPath, labelDigest)
            let examples = try LabeledImages(images: images, labels: labels)
            try examples.validateLabels(classes: dataset.classNames.count)
            return examples
        }
        let train = try split(.train)
        let test = try split(.test)
        guard train.images.height == test.images.height, train.images.width == test.images.width else {
            throw .imageSizeMismatch(expectedHeight: train.images.height, expectedWidth: train.images.width,
                                     foundHeight: test.images.height, foundWidth: test.images.width)
        }
        return DatasetSplits(dataset: dataset, train: train, test: test, sha256: checksums,
                             directory: locator.directory)
    }
}
