import Foundation

/// Decides which directory a data set is read from, and finds its files there.
///
/// The directory is, in order of precedence: the one given explicitly (a `--data DIR` option),
/// the data set's environment variable (`$MNIST_DIR`, `$FASHION_MNIST_DIR`), or the data set's
/// ``ImageDataset/defaultDirectory``. Each file may be stored raw (`NAME`) or gzip-compressed
/// (`NAME.gz`); the raw one wins when both exist.
public struct DatasetLocator: Sendable, Equatable {
    /// Where ``directory`` came from, for messages such as "using $MNIST_DIR".
    public enum Origin: Sendable, Equatable {
        /// Passed explicitly (a command-line option).
        case argument
        /// Read from the named environment variable.
        case environment(String)
        /// The data set's default directory.
        case defaultDirectory
    }

    /// The data set looked for.
    public let dataset: ImageDataset
    /// The directory its files are read from (and downloaded into).
    public let directory: String
    /// How ``directory`` was chosen.
    public let origin: Origin

    /// Resolves the directory for `dataset`; empty strings count as not given.
    public init(dataset: ImageDataset, directory: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.dataset = dataset
        if let directory, !directory.isEmpty {
            self.directory = directory
            origin = .argument
        } else if let fromEnvironment = environment[dataset.environmentVariable], !fromEnvironment.isEmpty {
            self.directory = fromEnvironment
            origin = .environment(dataset.environmentVariable)
        } else {
            self.directory = dataset.defaultDirectory
            origin = .defaultDirectory
        }
    }

    /// The path of `file` in ``directory`` (`NAME`, else `NAME.gz`), or `nil` if neither exists.
    public func path(of file: DatasetFile) -> String? {
        for candidate in [file.name, file.name + ".gz"] {
            let path = (directory as NSString).appendingPathComponent(candidate)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return path
            }
        }
        return nil
    }

    /// The data set's files that are in neither form in ``directory``.
    public func missingFiles() -> [DatasetFile] {
        dataset.files.filter { path(of: $0) == nil }
    }
}
