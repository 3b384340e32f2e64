import RNNSupport

// Why this file exists: Swift's own allocations (`Array`, `UnsafeMutableRawPointer.allocate`)
// end the process ("Fatal error: failed to allocate", SIGABRT) when `malloc` fails. For a buffer
// whose size comes from a file or from a C caller that is wrong: a process under a memory limit
// (`ulimit -v`, a container) must get an error it can report, and a host application linking the
// C API must not be killed by a model it was asked to load. Every buffer sized by a file is
// allocated here, after the size has been checked against everything the file already told us.

/// Bytes allocated with `malloc`, so that running out of memory is an error, not a trap.
///
/// The memory is uninitialized until written and is freed when the buffer is released.
package final class CheckedBuffer: @unchecked Sendable {
    /// The first byte, or nil when ``count`` is 0.
    package let base: UnsafeMutableRawPointer?
    /// Bytes allocated.
    package let count: Int

    /// Allocates `count` bytes for `what` (named in the error).
    ///
    /// - Throws: `limit_exceeded` when the allocation fails: the process cannot hold what the
    ///   file needs (spec §9 lets a reader impose a lower cap than the format's; memory is one).
    package init(count: Int, for what: String) throws(ModelFormatError) {
        precondition(count >= 0, "a negative size reached CheckedBuffer; sizes are checked before allocation")
        self.count = count
        if count == 0 {
            base = nil
            return
        }
        guard let p = malloc(count) else { throw CheckedAllocation.outOfMemory(count, what) }
        base = p
    }

    deinit { free(base) }

    /// The buffer as mutable bytes (for the code that fills it).
    package var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
    /// The buffer's bytes (valid while the buffer is alive).
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Checked allocation for the Swift arrays that must hold data of a file-given size.
package enum CheckedAllocation {
    /// Proves that `count` bytes can be allocated now, before a Swift array of that many bytes is.
    ///
    /// A Swift array cannot report a failed allocation, and the model types hold their values in
    /// arrays (``TensorStorage``). So before such arrays are created, the same number of bytes is
    /// mapped and unmapped: under an address-space or container limit this fails cleanly exactly
    /// when the arrays would abort. (Another thread allocating between the probe and the arrays
    /// could still exhaust memory; nothing in this library does.)
    ///
    /// Why `mmap` and not `malloc` + `free`: the optimizer knows `malloc` and deletes an allocation
    /// that is only freed, assuming it succeeded, so in a release build such a probe proves nothing
    /// (it did: `rnn_classify_u8_classes` with a count of 2^45 aborted in release, not in debug).
    /// Large `malloc`s are anonymous mappings themselves, so the probe fails when they would.
    ///
    /// - Throws: `limit_exceeded`, naming `what` and the size.
    package static func reserve(_ count: Int, for what: String) throws(ModelFormatError) {
        guard count > 0 else { return }
        #if canImport(Darwin)
        let anonymous = MAP_ANON
        #else
        let anonymous = MAP_ANONYMOUS
        #endif
        guard let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | anonymous, -1, 0),
              Int(bitPattern: p) != -1 else { throw outOfMemory(count, what) }  // MAP_FAILED
        munmap(p, count)
    }

    /// A copy of `source` as an array, allocated only after ``reserve(_:for:)`` succeeded.
    package static func array(copying source: UnsafeRawBufferPointer, for what: String) throws(ModelFormatError) -> [UInt8] {
        try reserve(source.count, for: what)
        return Array(source)
    }

    static func outOfMemory(_ count: Int, _ what: String) -> ModelFormatError {
        .limitExceeded("cannot allocate \(count) bytes for \(what): out of memory (the process's memory limit is below what this file needs)")
    }
}
