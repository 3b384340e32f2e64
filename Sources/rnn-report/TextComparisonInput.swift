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
