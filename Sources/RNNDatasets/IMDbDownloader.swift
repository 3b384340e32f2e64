import Foundation
import RNNSupport

/// Downloads the IMDb archive `aclImdb_v1.tar.gz` (Maas et al., ACL 2011) from its public origin
/// or a mirror, keeping it only if its SHA-256 is the expected one.
///
/// The archive is fetched into a temporary file next to its destination, the SHA-256 of the
/// downloaded bytes (the `.tar.gz` itself, not its content) is compared with
/// ``expectedSHA256``, and only then is the file renamed into place (see ``VerifiedDownload``):
/// a corrupt, substituted or interrupted download leaves nothing behind. When the server cannot
/// be reached at all, the error says where to fetch the file by hand and where to put it.
public struct IMDbDownloader: Sendable {
    /// The archive's file name, on the server and (by default) on disk.
    public static let archiveName = "aclImdb_v1.tar.gz"
    /// The public origin, `https://ai.stanford.edu/~amaas/data/sentiment/`.
    public static let defaultMirror = "https://ai.stanford.edu/~amaas/data/sentiment/"
    /// SHA-256 of the official `aclImdb_v1.tar.gz` (about 80 MiB), as pinned by several
    /// data set loaders. The shared CI copy `aclImdb_v1_labeled.tar.gz` is a repack with another
    /// checksum; it is read, never downloaded.
    public static let officialSHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    /// The largest download accepted (the official archive is about 80 MiB).
    public static let maximumDownloadBytes = 256 << 20

    /// Base URL, ending in `/`; the archive is fetched from `mirror + archiveName`.
    public var mirror: String
    /// The SHA-256 (64 lower-case hex digits) the downloaded bytes must have.
    public var expectedSHA256: String
    /// Seconds without progress before the transfer is given up; the whole transfer may take
    /// 30 times as long (30 minutes at the default, for 80 MiB on a slow line).
    public var timeout: Double

    /// The URL the archive is fetched from.
    public var url: String { mirror + Self.archiveName }

    /// A downloader from `mirror`, else `$RNN_DATASET_MIRROR` (the variable every data set
    /// shares, ``DatasetDownloader/mirrorVariable``), else ``defaultMirror``.
    ///
    /// - Parameter expectedSHA256: the checksum to demand; the official archive's by default
    ///   (tests serve a small archive of their own and pass its checksum).
    public init(mirror: String? = nil, expectedSHA256: String = officialSHA256,
                environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Double = 60) {
        self.mirror = VerifiedDownload.mirror(mirror, environment: environment, fallback: Self.defaultMirror)
        self.expectedSHA256 = expectedSHA256.lowercased()
        self.timeout = timeout
    }

    /// Downloads the archive to `destination` (its directory is created once the bytes have
    /// arrived), verifying its SHA-256 before the file appears there.
    public func download(to destination: String) throws(DatasetError) {
        var directory = (destination as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        let fetcher = VerifiedDownload(requestTimeout: timeout, resourceTimeout: timeout * 30,
                                       maximumBytes: Self.maximumDownloadBytes)
        let body = try fetcher.fetchBytes(url, dataset: "IMDb", directory: directory) { reason in
            offlineHint(reason: reason, destination: destination)
        }
        // Created only now, and removed again (when empty) if the bytes are rejected, so that a
        // failed download leaves no trace.
        let directoryExisted = FileManager.default.fileExists(atPath: directory)
        try VerifiedDownload.createDirectory(directory)
        do throws(DatasetError) {
            try install(body, at: destination)
        } catch {
            if !directoryExisted { rmdir(directory) }
            throw error
        }
    }

    /// Writes `body` next to `destination`, checks its SHA-256 on disk, renames it into place.
    private func install(_ body: [UInt8], at destination: String) throws(DatasetError) {
        try VerifiedDownload.install(body, at: destination) { temporary throws(DatasetError) in
            // Hash what is on disk, which is what a later run will read.
            let found = try VerifiedDownload.sha256(of: FileByteSource(path: temporary))
            guard found == expectedSHA256 else {
                // `.checksumMismatch` speaks of decompressed data (the IDX files); this checksum
                // is of the archive's own bytes, so say so.
                let which = expectedSHA256 == Self.officialSHA256 ? " (the official \(Self.archiveName))" : ""
                throw .download(url: url, detail: "checksum mismatch: the SHA-256 of the \(body.count) downloaded "
                    + "bytes is \(found), expected \(expectedSHA256)\(which); the file is corrupt or not the "
                    + "published one")
            }
        }
    }

    private func offlineHint(reason: String, destination: String) -> String {
        let absolute = URL(fileURLWithPath: destination).standardizedFileURL.path
        let origin = mirror == Self.defaultMirror ? mirror : "\(mirror) or \(Self.defaultMirror)"
        return "cannot reach \(url) (\(reason)); download \(Self.archiveName) (about 80 MiB, SHA-256 "
            + "\(expectedSHA256)) from \(origin) and put it at \(absolute), or pass --data PATH (an aclImdb "
            + "directory or .tar.gz), or set $\(DatasetDownloader.mirrorVariable) to a reachable mirror"
    }
}

extension IMDb {
    /// Loads the reviews from `path` like ``load(from:)``, first downloading the archive to
    /// `path` with `downloader` when nothing is there (a `nil` downloader reports the missing file).
    public static func load(from path: String, downloadingWith downloader: IMDbDownloader?) throws(DatasetError)
        -> TextDatasetSplits {
        if !FileManager.default.fileExists(atPath: path) {
            guard let downloader else { throw .fileNotFound(path: path) }
            try downloader.download(to: path)
        }
        return try load(from: path)
    }
}
