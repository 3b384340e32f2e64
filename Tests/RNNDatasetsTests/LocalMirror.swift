import Foundation
import Testing

/// A throw-away HTTP mirror on 127.0.0.1 for download tests: a small Python server written to a
/// temporary directory and run with Foundation's `Process`.
///
/// `GET /NAME` serves `directory/NAME`; `GET /cut/NAME` announces the full `Content-Length` but
/// closes the connection after half the body (an interrupted transfer). The server picks a free
/// port itself and prints it; it exits on its own after two minutes in case a test dies before
/// ``stop()``.
final class LocalMirror {
    let baseURL: String
    private let process: Process
    private let scriptDirectory: String

    private static let script = #"""
import http.server, os, signal, socket, sys, threading
# The parent's threads may block signals, and a spawned child inherits that mask.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
root = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        name = self.path.lstrip("/")
        cut = name.startswith("cut/")
        if cut:
            name = name[4:]
        path = os.path.join(root, os.path.basename(name))
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/gzip")
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(data)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Timer(120, lambda: os._exit(0)).start()
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    /// Starts a server for `directory`, waiting at most 20 s for it to report its port.
    init(serving directory: String) throws {
        scriptDirectory = NSTemporaryDirectory() + "rnndatasets-mirror-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scriptDirectory, withIntermediateDirectories: true)
        let scriptPath = scriptDirectory + "/mirror.py"
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptPath, directory]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = PortReader(output.fileHandleForReading)
        guard let port = reader.port(within: 20) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw MirrorError.noPort
        }
        baseURL = "http://127.0.0.1:\(port)/"
    }

    /// Stops the server (SIGKILL: it cannot be blocked or ignored) and removes its script.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: scriptDirectory)
    }

    deinit { stop() }

    enum MirrorError: Error { case noPort }

    /// A port on 127.0.0.1 that nothing listens on (bound, then released).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Reads the first line of the server's output on a background thread, with a deadline.
private final class PortReader: @unchecked Sendable {
    private let lock = NSLock()
    private var line: String?
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            var bytes = [UInt8]()
            while !bytes.contains(0x0A) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                bytes += chunk
            }
            lock.lock()
            line = String(decoding: bytes, as: UTF8.self)
            lock.unlock()
            done.signal()
        }.start()
    }

    func port(within seconds: Double) -> Int? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return line.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
