import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Downloads a data set's missing `.gz` files from a mirror into its directory, safely.
///
/// Each file is fetched into a temporary file next to its destination, decompressed and
/// checked against the published SHA-256 of its content, and only then renamed into place
/// (POSIX `rename` is atomic), so a corrupt or interrupted download never leaves a file that a
/// later run would trust. When the mirror cannot be reached at all, the error names the files
/// to fetch by hand and the directory to put them in.
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
        var base = mirror ?? environment[Self.mirrorVariable].flatMap { $0.isEmpty ? nil : $0 } ?? dataset.defaultMirror
        if !base.hasSuffix("/") { base += "/" }
        self.mirror = base
        self.timeout = timeout
    }

    /// Downloads `files` into `directory` (created if needed), verifying each before keeping it.
    public func download(_ files: [DatasetFile], into directory: String) throws(DatasetError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: directory, detail: "cannot create the directory: \(error.localizedDescription)")
        }
        for file in files {
            try download(file, into: directory, allMissing: files)
        }
    }

    private func download(_ file: DatasetFile, into directory: String, allMissing: [DatasetFile]) throws(DatasetError) {
        let url = mirror + file.name + ".gz"
        let body: [UInt8]
        switch fetch(url) {
        case .success(let bytes):
            body = bytes
        case .failure(.offline(let reason)):
            throw .notFoundOffline(dataset: dataset.description, directory: directory,
                                   hint: offlineHint(reason: reason, url: url, files: allMissing, directory: directory))
        case .failure(.failed(let detail)):
            throw .download(url: url, detail: detail)
        }
        // Named for what the bytes are, whatever the URL said: a mirror may serve raw IDX.
        let isGzip = body.starts(with: [0x1F, 0x8B])
        let destination = (directory as NSString).appendingPathComponent(file.name + (isGzip ? ".gz" : ""))
        let temporary = AtomicFile.temporaryPath(for: destination)
        do throws(DatasetError) {
            try AtomicFile.writeNew([body], to: temporary)
            let digest = try Self.decompressedSHA256(of: temporary)
            guard digest == file.sha256 else {
                throw .checksumMismatch(file: url, expected: file.sha256, found: digest)
            }
            try AtomicFile.rename(temporary, to: destination)
        } catch {
            unlink(temporary)
            if case .gzip(_, let detail) = error {
                throw .download(url: url, detail: "the downloaded file is not valid gzip (\(detail))")
            }
            throw error
        }
    }

    /// SHA-256 of a file's decompressed content, streamed in 1 MiB chunks.
    static func decompressedSHA256(of path: String) throws(DatasetError) -> String {
        let (opened, _, _) = try openDecompressedSource(path: path)
        let source = HashingByteSource(opened)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while try source.read(into: chunk) > 0 {}
        return source.hasher.finalizeHex()
    }

    private func offlineHint(reason: String, url: String, files: [DatasetFile], directory: String) -> String {
        let names = files.map { $0.name + ".gz" }.joined(separator: ", ")
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        return "cannot reach \(url) (\(reason)); download \(names) from \(mirror) (or any \(dataset) mirror) "
            + "and put them in \(absolute), or point --data DIR / $\(dataset.environmentVariable) at a directory "
            + "that has them, or set $\(Self.mirrorVariable) to a reachable mirror"
    }

    enum FetchFailure: Error {
        /// The host could not be reached at all (DNS failure, connection refused, no network).
        case offline(String)
        /// The host answered but the transfer failed (HTTP error, interrupted, too large).
        case failed(String)
    }

    /// Fetches `url` into memory, waiting at most the configured timeouts.
    private func fetch(_ url: String) -> Result<[UInt8], FetchFailure> {
        guard let target = URL(string: url), let scheme = target.scheme, ["http", "https", "file"].contains(scheme) else {
            return .failure(.failed("not a valid http(s) URL"))
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout * 10
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let box = FetchBox()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: target) { data, response, error in
            box.set(Self.interpret(data: data, response: response, error: error))
            done.signal()
        }
        task.resume()
        // The session's own timeouts end the task; this outer bound only guards against a hang.
        if done.wait(timeout: .now() + timeout * 10 + 5) == .timedOut {
            task.cancel()
            return .failure(.failed("no answer within \(Int(timeout * 10 + 5)) s"))
        }
        return box.get() ?? .failure(.failed("no result"))
    }

    private static func interpret(data: Data?, response: URLResponse?, error: (any Error)?) -> Result<[UInt8], FetchFailure> {
        if let error {
            let code = (error as? URLError)?.code
            let offlineCodes: [URLError.Code] = [.cannotConnectToHost, .cannotFindHost, .dnsLookupFailed,
                                                 .notConnectedToInternet, .timedOut, .secureConnectionFailed]
            if let code, offlineCodes.contains(code) {
                return .failure(.offline(error.localizedDescription))
            }
            // Headers arrived but the body did not: the transfer was cut off. On Linux,
            // FoundationNetworking reports curl's "transfer closed with N bytes remaining to
            // read" (CURLE_PARTIAL_FILE) only as an unknown error, hence the text match.
            if code == .networkConnectionLost || response != nil
                || error.localizedDescription.contains("transfer closed") {
                return .failure(.failed("interrupted transfer: \(error.localizedDescription)"))
            }
            return .failure(.failed(error.localizedDescription))
        }
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            return .failure(.failed("HTTP status \(http.statusCode), expected 200"))
        }
        guard let data else { return .failure(.failed("no data received")) }
        if let expected = response?.expectedContentLength, expected >= 0, expected != Int64(data.count) {
            return .failure(.failed("received \(data.count) of \(expected) bytes (interrupted transfer)"))
        }
        guard data.count <= maximumDownloadBytes else {
            return .failure(.failed("\(data.count) bytes is more than the limit of \(maximumDownloadBytes)"))
        }
        return .success([UInt8](data))
    }
}

/// Carries a fetch result from URLSession's callback queue to the waiting caller.
private final class FetchBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<[UInt8], DatasetDownloader.FetchFailure>?

    func set(_ value: Result<[UInt8], DatasetDownloader.FetchFailure>) {
        lock.lock()
        result = value
        lock.unlock()
    }

    func get() -> Result<[UInt8], DatasetDownloader.FetchFailure>? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}
