import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a data set's missing `.gz` files from a mirror into its directory, safely.
///
/// Each file is fetched into a temporary file next to its destination, decompressed and
/// checked against the published SHA-256 of its content, and only then renamed into place
/// (POSIX `rename` is atomic; see ``VerifiedDownload``), so a corrupt or interrupted download
/// never leaves a file that a later run would trust. When the mirror cannot be reached at all,
/// the error names the files to fetch by hand and the directory to put them in.
public struct DatasetDownloader: Sendable {
    /// The environment variable that overrides every data set's mirror.
    public static let mirrorVariable = "RNN_DATASET_MIRROR"
    /// The largest download accepted per file (the biggest data set file is about 26 MiB).
    public static let maximumDownloadBytes = 256 << 20

    /// The data set downloaded.
    public var dataset: ImageDataset
    /// Base URL of the mirror, ending in `/`; each file is fetched from `mirror + NAME + ".gz"`.
    public var mirror: String
    /// Seconds without progress (and 10x for a whole file) before a transfer is given up.
    public var timeout: Double

    /// A downloader for `dataset` from `mirror`, else `$RNN_DATASET_MIRROR`, else the data set's
    /// ``ImageDataset/defaultMirror``.
    public init(dataset: ImageDataset, mirror: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Double = 60) {
        self.dataset = dataset
        self.mirror = VerifiedDownload.mirror(mirror, environment: environment, fallback: dataset.defaultMirror)
        self.timeout = timeout
    }

    /// Downloads `files` into `directory` (created if needed), verifying each before keeping it.
    public func download(_ files: [DatasetFile], into directory: String) throws(DatasetError) {
        try VerifiedDownload.createDirectory(directory)
        for file in files {
            try download(file, into: directory, allMissing: files)
        }
    }

    private func download(_ file: DatasetFile, into directory: String, allMissing: [DatasetFile]) throws(DatasetError) {
        let url = mirror + file.name + ".gz"
        let fetcher = VerifiedDownload(requestTimeout: timeout, resourceTimeout: timeout * 10,
                                       maximumBytes: Self.maximumDownloadBytes)
        let body = try fetcher.fetchBytes(url, dataset: dataset.description, directory: directory) { reason in
            offlineHint(reason: reason, url: url, files: allMissing, directory: directory)
        }
        // Named for what the bytes are, whatever the URL said: a mirror may serve raw IDX.
        let isGzip = body.starts(with: [0x1F, 0x8B])
        let destination = (directory as NSString).appendingPathComponent(file.name + (isGzip ? ".gz" : ""))
        do throws(DatasetError) {
            // The published SHA-256s are of the decompressed content (IDX bytes).
            try VerifiedDownload.install(body, at: destination) { temporary throws(DatasetError) in
                let digest = try Self.decompressedSHA256(of: temporary)
                guard digest == file.sha256 else {
                    throw .checksumMismatch(file: url, expected: file.sha256, found: digest)
                }
            }
        } catch {
            if case .gzip(_, let detail) = error {
                throw .download(url: url, detail: "the downloaded file is not valid gzip (\(detail))")
            }
            throw error
        }
    }

    /// SHA-256 of a file's decompressed content, streamed in 1 MiB chunks.
    package static func decompressedSHA256(of path: String) throws(DatasetError) -> String {
        try VerifiedDownload.sha256(of: openDecompressedSource(path: path).source)
    }

    private func offlineHint(reason: String, url: String, files: [DatasetFile], directory: String) -> String {
        let names = files.map { $0.name + ".gz" }.joined(separator: ", ")
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        return "cannot reach \(url) (\(reason)); download \(names) from \(mirror) (or any \(dataset) mirror) "
            + "and put them in \(absolute), or point --data DIR / $\(dataset.environmentVariable) at a directory "
            + "that has them, or set $\(Self.mirrorVariable) to a reachable mirror"
    }
}
