/// Seconds of the monotonic clock (`CLOCK_MONOTONIC`): for durations only, never for dates.
///
/// One clock for every tool and the trainer's epoch timings, so that "seconds" means the same
/// thing in a progress line, a run log and a report.
package func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// What `body` returned, and the seconds of the monotonic clock it took.
package func measured<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (value: T, seconds: Double) {
    let start = monotonicSeconds()
    let value = try body()
    return (value, monotonicSeconds() - start)
}
