import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RNNSupport

/// The machinery every data set download shares: fetch a URL into memory with bounded waits,
/// then keep the bytes only if they pass a check.
///
/// The bytes go to a temporary file next to their destination, the check runs, and only then is
/// the file renamed into place (POSIX `rename` is atomic and stays within one directory), so a
/// corrupt or interrupted download never leaves a file that a later run would trust. On any
/// failure the temporary file is removed.
struct VerifiedDownload: Sendable {
    /// Seconds without progress before a transfer is given up.
    var requestTimeout: Double
    /// Seconds a whole transfer may take.
    var resourceTimeout: Double
    /// The largest body accepted.
    var maximumBytes: Int

    /// Why a fetch failed, split so that callers can tell "go offline and put the file there
    /// yourself" from "the server answered badly, retry".
    enum Failure: Error {
        /// The host could not be reached at all (DNS failure, connection refused, no network).
        case offline(String)
        /// The host answered but the transfer failed (HTTP error, interrupted, too large).
        case failed(String)
    }

    /// `base` made to end in `/`: the explicit mirror, else `$RNN_DATASET_MIRROR` (when not empty),
    /// else `fallback`.
    static func mirror(_ explicit: String?, environment: [String: String], fallback: String) -> String {
        var base = explicit ?? environment[DatasetDownloader.mirrorVariable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        if !base.hasSuffix("/") { base += "/" }
        return base
    }

    /// Writes `body` to a temporary file next to `destination`, runs `verify` on that file, and
    /// renames it to `destination` only if `verify` returns; otherwise removes it and rethrows.
    static func install(_ body: [UInt8], at destination: String,
                        verify: (_ temporaryPath: String) throws(DatasetError) -> Void) throws(DatasetError) {
        var rejection: DatasetError?
        do throws(FileWriteError) {
            try AtomicFile.write([body], to: destination, accepting: { temporary in
                do throws(DatasetError) { try verify(temporary) } catch { rejection = error; return false }
                return true
            })
        } catch {
            throw rejection ?? .writeFailed(error)
        }
    }

    /// SHA-256 of everything `source` yields, streamed in 1 MiB chunks.
    static func sha256(of source: ByteSource) throws(DatasetError) -> String {
        let hashing = HashingByteSource(source)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while try hashing.read(into: chunk) > 0 {}
        return hashing.hasher.finalizeHex()
    }

    /// Creates `directory` and its parents if needed.
    static func createDirectory(_ directory: String) throws(DatasetError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(path: directory, detail: "cannot create the directory: \(error.localizedDescription)")
        }
    }

    /// Fetches `url` like ``fetch(_:)``, throwing ``DatasetError/notFoundOffline(dataset:directory:hint:)``
    /// (its hint written by `offlineHint` from the reason) when offline and ``DatasetError/download(url:detail:)``
    /// on any other failure.
    func fetchBytes(_ url: String, dataset: String, directory: String,
                    offlineHint: (String) -> String) throws(DatasetError) -> [UInt8] {
        switch fetch(url) {
        case .success(let bytes):
            return bytes
        case .failure(.offline(let reason)):
            throw .notFoundOffline(dataset: dataset, directory: directory, hint: offlineHint(reason))
        case .failure(.failed(let detail)):
            throw .download(url: url, detail: detail)
        }
    }

    /// Fetches `url` (http, https or file) into memory, waiting at most the configured timeouts.
    func fetch(_ url: String) -> Result<[UInt8], Failure> {
        guard let target = URL(string: url), let scheme = target.scheme, ["http", "https", "file"].contains(scheme) else {
            return .failure(.failed("not a valid http(s) URL"))
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = resourceTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let box = FetchBox()
        let done = DispatchSemaphore(value: 0)
        let limit = maximumBytes
        let task = session.dataTask(with: target) { data, response, error in
            box.set(Self.interpret(data: data, response: response, error: error, maximumBytes: limit))
            done.signal()
        }
        task.resume()
        // The session's own timeouts end the task; this outer bound only guards against a hang.
        if done.wait(timeout: .now() + resourceTimeout + 5) == .timedOut {
            task.cancel()
            return .failure(.failed("no answer within \(Int(resourceTimeout + 5)) s"))
        }
        return box.get() ?? .failure(.failed("no result"))
    }

    private static func interpret(data: Data?, response: URLResponse?, error: (any Error)?,
                                  maximumBytes: Int) -> Result<[UInt8], Failure> {
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
        guard data.count <= maximumBytes else {
            return .failure(.failed("\(data.count) bytes is more than the limit of \(maximumBytes)"))
        }
        return .success([UInt8](data))
    }
}

/// Carries a fetch result from URLSession's callback queue to the waiting caller.
private final class FetchBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<[UInt8], VerifiedDownload.Failure>?

    func set(_ value: Result<[UInt8], VerifiedDownload.Failure>) {
        lock.lock()
        result = value
        lock.unlock()
    }

    func get() -> Result<[UInt8], VerifiedDownload.Failure>? {
        lock.lock()
        defer { lock.unlock() }
        return result
    }
}
