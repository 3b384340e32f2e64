// The C library, imported once for the whole package.
//
// Every module that calls POSIX (open, flock, fsync, clock_gettime, strerror, ...) imports
// RNNSupport instead of repeating an `#if canImport(Glibc) ... #elseif canImport(Darwin)` block in
// each file; this file is the one place that knows which C library the platform has (the pattern
// of swift-system's `Internals/Exports.swift`).
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// `read(2)`, under a name that a type's own `read` method does not shadow.
@inline(__always)
package func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// `write(2)`, under a name that a type's own `write` method does not shadow.
@inline(__always)
package func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// The system's words for the current `errno` (`strerror(3)`), e.g. "No space left on device".
package func systemErrorText() -> String {
    String(cString: strerror(errno))
}
