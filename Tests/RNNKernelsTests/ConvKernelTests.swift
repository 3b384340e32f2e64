import Foundation
import RNNKernels
import Testing

/// The convolution kernels of conv.c (rnn_kernels.h): every variant against the definition in straight
/// loops, on shapes that leave pixel tiles and output groups partial; max pooling with its argmax; im2col
/// and col2im as adjoints; and the argument checks, which refuse before writing anything.
@Suite struct ConvKernelTests {
    static let variants = [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512, RNNK_ISA_NEON].filter { rnnk_isa_available($0) != 0 }

    struct Shape: CustomStringConvertible, Sendable {
        var images, h, w, c, stride, kh, kw, sh, sw, pt, pl, pb, pr, out: Int
        var outH: Int { (h + pt + pb - kh) / sh + 1 }
        var outW: Int { (w + pl + pr - kw) / sw + 1 }
        var groups: Int { (out + 7) / 8 }
        var description: String { "\(images)x\(h)x\(w)x\(c)(stride \(stride)) k\(kh)x\(kw) s\(sh)x\(sw) pad \(pt),\(pl),\(pb),\(pr) -> \(out)" }
    }

    static let shapes: [Shape] = [
        Shape(images: 3, h: 28, w: 28, c: 1, stride: 1, kh: 5, kw: 5, sh: 1, sw: 1, pt: 2, pl: 2, pb: 2, pr: 2, out: 6),    // LeNet conv1
        Shape(images: 2, h: 14, w: 14, c: 6, stride: 8, kh: 5, kw: 5, sh: 1, sw: 1, pt: 0, pl: 0, pb: 0, pr: 0, out: 16),   // LeNet conv2
        Shape(images: 2, h: 9, w: 7, c: 3, stride: 3, kh: 3, kw: 2, sh: 2, sw: 1, pt: 1, pl: 0, pb: 1, pr: 1, out: 13),     // 3 groups
        Shape(images: 1, h: 5, w: 3, c: 2, stride: 8, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, pb: 0, pr: 0, out: 25),     // 15 pixels
        Shape(images: 4, h: 1, w: 1, c: 4, stride: 4, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, pb: 0, pr: 0, out: 1),
    ]

    /// Deterministic values in [-1, 1).
    static func values(_ n: Int, seed: UInt32) -> [Float] {
        var state = seed &* 2_654_435_761 | 1
        return (0..<n).map { _ in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return Float(state % 2001) / 1000 - 1
        }
    }

    func arguments(_ s: Shape) -> rnnk_conv2d_args {
        var a = rnnk_conv2d_args()
        a.images = Int32(s.images); a.in_height = Int32(s.h); a.in_width = Int32(s.w); a.in_channels = Int32(s.c)
        a.in_channel_stride = Int32(s.stride); a.x_image_stride = s.h * s.w * s.stride
        a.kernel_height = Int32(s.kh); a.kernel_width = Int32(s.kw); a.stride_height = Int32(s.sh); a.stride_width = Int32(s.sw)
        a.pad_top = Int32(s.pt); a.pad_left = Int32(s.pl); a.out_height = Int32(s.outH); a.out_width = Int32(s.outW)
        a.out_groups = Int32(s.groups); a.y_image_stride = s.outH * s.outW * 8 * s.groups
        return a
    }

    @Test(arguments: shapes)
    func everyVariantComputesTheDefinition(_ s: Shape) throws {
        let os = 8 * s.groups, k = s.kh * s.kw * s.c
        let x = Self.values(s.images * s.h * s.w * s.stride, seed: 1)
        var w = Self.values(k * os, seed: 2), bias = Self.values(os, seed: 3)
        for o in s.out..<os { bias[o] = 0; for r in 0..<k { w[r * os + o] = 0 } }
        for activation in [RNNK_ACTIVATION_NONE, RNNK_ACTIVATION_RELU, RNNK_ACTIVATION_TANH] {
            for isa in Self.variants {
                var a = arguments(s)
                a.activation = activation
                var y = [Float](repeating: .nan, count: s.images * Int(a.y_image_stride))
                var scratch = [Float](repeating: .nan, count: rnnk_conv2d_scratch_floats(&a))
                let status = x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in scratch.withUnsafeMutableBufferPointer { sp in
                        a.x = xp.baseAddress; a.w = wp.baseAddress; a.bias = bp.baseAddress; a.y = yp.baseAddress; a.scratch = sp.baseAddress
                        return rnnk_conv2d(isa, &a)
                    } }
                } } }
                try #require(status == RNNK_OK, "\(s) isa \(isa.rawValue): \(String(cString: rnnk_status_message(status)))")
                var worst: Double = 0
                for n in 0..<s.images { for i in 0..<s.outH { for j in 0..<s.outW { for o in 0..<os {
                    var sum = Double(bias[o])
                    for u in 0..<s.kh { for v in 0..<s.kw {
                        let r = i * s.sh + u - s.pt, q = j * s.sw + v - s.pl
                        guard r >= 0, r < s.h, q >= 0, q < s.w else { continue }
                        for ch in 0..<s.c {
                            sum += Double(w[((u * s.kw + v) * s.c + ch) * os + o]) * Double(x[((n * s.h + r) * s.w + q) * s.stride + ch])
                        }
                    } }
                    if activation == RNNK_ACTIVATION_RELU { sum = max(0, sum) }
                    if activation == RNNK_ACTIVATION_TANH { sum = tanh(sum) }
                    let got = Double(y[n * Int(a.y_image_stride) + (i * s.outW + j) * os + o])
                    worst = max(worst, abs(got - sum))
                    if o >= s.out { #expect(got == 0, "padded channel \(o) is \(got)") }
                } } } }
                #expect(worst < 2e-5, "\(s) isa \(isa.rawValue) activation \(activation.rawValue): worst \(worst)")
            }
        }
    }

    @Test func maxPoolingTakesTheFirstMaximumAndNeverThePadding() throws {
        // 2 images, 5 x 4 pixels, 3 channels; 3x2 windows, stride 2x1, padding top 1 / left 0 (floor mode: 3 x 3 outputs).
        let (h, w, c) = (5, 4, 3)
        var x = Self.values(2 * h * w * c, seed: 9).map { -abs($0) - 1 }   // every input negative: padding (0) would win if read
        x[(1 * w + 1) * c + 2] = 5; x[(2 * w + 1) * c + 2] = 5            // a tie in one window: the first wins
        var a = rnnk_maxpool2d_args()
        a.images = 2; a.channels = Int32(c); a.in_height = Int32(h); a.in_width = Int32(w); a.x_image_stride = h * w * c
        a.kernel_height = 3; a.kernel_width = 2; a.stride_height = 2; a.stride_width = 1; a.pad_top = 1; a.pad_left = 0
        a.out_height = 3; a.out_width = 3; a.y_image_stride = 9 * c
        var y = [Float](repeating: .nan, count: 2 * 9 * c), argmax = [Int32](repeating: -1, count: 2 * 9 * c)
        let status = x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in argmax.withUnsafeMutableBufferPointer { ap in
            a.x = xp.baseAddress; a.y = yp.baseAddress; a.argmax = ap.baseAddress
            return rnnk_maxpool2d(&a)
        } } }
        try #require(status == RNNK_OK)
        for n in 0..<2 { for i in 0..<3 { for j in 0..<3 { for ch in 0..<c {
            var best = -Float.infinity, at = -1
            for u in 0..<3 { for v in 0..<2 {
                let r = i * 2 + u - 1, q = j + v
                guard r >= 0, r < h, q < w else { continue }
                let value = x[n * h * w * c + (r * w + q) * c + ch]
                if value > best { best = value; at = (r * w + q) * c + ch }
            } }
            let e = n * 9 * c + (i * 3 + j) * c + ch
            #expect(y[e] == best && Int(argmax[e]) == at, "image \(n) (\(i), \(j)) channel \(ch)")
        } } } }
        #expect(y[(1 * 3 + 1) * c + 2] == 5 && argmax[(1 * 3 + 1) * c + 2] == Int32((1 * w + 1) * c + 2))
    }

    /// `<col, im2col(x)> = <col2im(col), x>` for random x and col: col2im is im2col's adjoint, the property
    /// the trainer's input gradient rests on.
    @Test(arguments: shapes)
    func col2imIsTheAdjointOfIm2col(_ s: Shape) throws {
        var a = arguments(s)
        let rows = s.images * s.outH * s.outW, width = s.kh * s.kw * s.c
        let x = Self.values(s.images * s.h * s.w * s.stride, seed: 4), col = Self.values(rows * width, seed: 5)
        var im = [Float](repeating: 0, count: rows * width), back = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in im.withUnsafeMutableBufferPointer { ip in
            a.x = xp.baseAddress
            #expect(rnnk_im2col(&a, ip.baseAddress) == RNNK_OK)
        } }
        col.withUnsafeBufferPointer { cp in back.withUnsafeMutableBufferPointer { bp in
            #expect(rnnk_col2im(&a, cp.baseAddress, bp.baseAddress) == RNNK_OK)
        } }
        let left = zip(col, im).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        var right = 0.0
        for n in 0..<s.images { for p in 0..<(s.h * s.w) { for ch in 0..<s.c {
            let i = (n * s.h * s.w + p) * s.stride + ch
            right += Double(back[i]) * Double(x[i])
        } } }
        #expect(abs(left - right) <= 1e-9 * max(1, abs(left)) + 1e-3, "\(s): \(left) vs \(right)")
        // Channels past in_channels (the previous layer's padding) are never read or written.
        for n in 0..<s.images { for p in 0..<(s.h * s.w) { for ch in s.c..<s.stride { #expect(back[(n * s.h * s.w + p) * s.stride + ch] == 0) } } }
    }

    @Test func badArgumentsAreRefusedBeforeAnythingIsWritten() {
        let s = Self.shapes[2]
        var a = arguments(s)
        #expect(rnnk_conv2d(RNNK_ISA_NONE, nil) == RNNK_NULL_POINTER)
        #expect(rnnk_conv2d(RNNK_ISA_NONE, &a) == RNNK_NULL_POINTER)             // no pointers yet
        func status(_ edit: (inout rnnk_conv2d_args) -> Void) -> Int32 {
            var b = arguments(s)
            var buffer = [Float](repeating: 7, count: 4096)
            return buffer.withUnsafeMutableBufferPointer { p in
                let base = p.baseAddress!
                b.x = UnsafePointer(base); b.w = UnsafePointer(base + 1000); b.bias = UnsafePointer(base + 1500)
                b.y = base + 2000; b.scratch = base + 3500
                edit(&b)
                let result = rnnk_conv2d(RNNK_ISA_NONE, &b)
                if result != RNNK_OK { #expect(p.allSatisfy { $0 == 7 }, "wrote after refusing") }
                return result
            }
        }
        #expect(status { $0.pad_top = 3 } == RNNK_INVALID_SIZE)                      // padding not below the kernel
        #expect(status { $0.stride_width = 0 } == RNNK_INVALID_SIZE)
        #expect(status { $0.out_groups = 0 } == RNNK_INVALID_SIZE)
        #expect(status { $0.in_channel_stride = 2 } == RNNK_BAD_LAYOUT)              // shorter than the channels
        #expect(status { $0.y_image_stride -= 1 } == RNNK_BAD_LAYOUT)
        #expect(status { $0.y = UnsafeMutablePointer(mutating: $0.x!) + 10 } == RNNK_OVERLAP)
        #expect(status { $0.scratch = $0.y! + 5 } == RNNK_OVERLAP)
        #expect(status { $0.out_height = Int32.max } == RNNK_INVALID_SIZE)           // the padded image overflows
        if rnnk_detect_isa() != RNNK_ISA_AVX512 { #expect(rnnk_conv2d(RNNK_ISA_AVX512, &a) == RNNK_UNAVAILABLE) }
        var p = rnnk_maxpool2d_args()
        p.images = 1; p.channels = 1; p.in_height = 2; p.in_width = 2; p.x_image_stride = 4; p.kernel_height = 2; p.kernel_width = 2
        p.stride_height = 2; p.stride_width = 2; p.out_height = 2; p.out_width = 1; p.y_image_stride = 2
        #expect(rnnk_maxpool2d(&p) == RNNK_INVALID_SIZE)                                // the second row's window starts past the input
    }
}
