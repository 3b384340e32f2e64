import Foundation

/// A linear map from data values to pixels, with "nice" tick positions (1, 2, 2.5 or 5 x 10^k).
struct LinearScale {
    let domain: ClosedRange<Double>
    let range: ClosedRange<Double>
    /// When true, larger values map towards `range.lowerBound` (SVG y grows downwards).
    let inverted: Bool

    init(domain: ClosedRange<Double>, range: ClosedRange<Double>, inverted: Bool = false) {
        // A zero-width domain would divide by zero; widen it symmetrically.
        if domain.upperBound - domain.lowerBound < 1e-12 {
            let pad = max(abs(domain.lowerBound) * 0.05, 1e-6)
            self.domain = (domain.lowerBound - pad)...(domain.upperBound + pad)
        } else {
            self.domain = domain
        }
        self.range = range
        self.inverted = inverted
    }

    func callAsFunction(_ value: Double) -> Double {
        let t = (value - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        let u = inverted ? 1 - t : t
        return range.lowerBound + u * (range.upperBound - range.lowerBound)
    }

    /// About `count` tick values inside the domain, and the step between them.
    func ticks(count: Int = 5) -> (values: [Double], step: Double) {
        let step = Self.niceStep(span: domain.upperBound - domain.lowerBound, count: count)
        let first = (domain.lowerBound / step).rounded(.up) * step
        var values: [Double] = []
        var v = first
        while v <= domain.upperBound + step * 1e-9 && values.count < 50 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return (values, step)
    }

    static func niceStep(span: Double, count: Int) -> Double {
        let raw = span / Double(max(1, count))
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        let fraction = raw / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * power
    }

    /// A domain around `values` widened to nice round ends, optionally forced to include zero.
    static func niceDomain(_ values: [Double], includeZero: Bool = false, count: Int = 5) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard var low = finite.min(), var high = finite.max() else { return 0...1 }
        if includeZero { low = min(low, 0); high = max(high, 0) }
        if high - low < 1e-12 { high = low + max(abs(low) * 0.1, 1) }
        let step = niceStep(span: high - low, count: count)
        return (floor(low / step) * step)...(ceil(high / step) * step)
    }
}
