import Foundation
import RNNReport

extension ReportCommand {
    /// The `--imdb-comparison` file, decoded (nil when the option is absent).
    func readTextComparison() throws(ReportFailure) -> TextComparison? {
        guard let path = imdbComparison else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .textComparisonMissing(path: path) }
        // Same exit status as --comparison (4): another optional input that is malformed.
        do { return try TextComparison.decode(json: data) } catch { throw .comparison(path: path, error) }
    }
}

extension ReportCommand {
    /// The `--family` file (bench/results/family.json), decoded (nil when the option is absent).
    func readFamily() throws(ReportFailure) -> RecurrentFamily? {
        guard let path = family else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .familyMissing(path: path) }
        do { return try RecurrentFamily.decode(json: data) } catch { throw .comparison(path: path, error) }
    }
}
