import RNNSupport
import ArgumentParser
import RNNTraining

/// The `created_at` and durations policy of the models this run writes: `SOURCE_DATE_EPOCH` when
/// it is set (a malformed value is a usage error, exit 64), else 1970-01-01T00:00:00Z with
/// `--reproducible`, else the wall clock.
func provenanceTime(reproducible: Bool) throws -> ProvenanceTime {
    if let value = getenv("SOURCE_DATE_EPOCH") {
        do { return try ProvenanceTime.sourceDateEpoch(String(cString: value)) } catch {
            throw fail(error.description, ExitStatus.usage)
        }
    }
    return reproducible ? .reproducible(sourceDateEpoch: 0) : .wallClock(secondsSince1970: Int64(time(nil)))
}

let reproducibleHelp: ArgumentHelp = """
    Write a reproducible model: created_at is $SOURCE_DATE_EPOCH, or 1970-01-01T00:00:00Z when it is \
    unset, and no wall-clock durations (the run log keeps them), so identical runs (same data, options, \
    machine, threads and kernel) write identical bytes. Setting SOURCE_DATE_EPOCH alone does the same.
    """
