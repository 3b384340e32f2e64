import RNNKernels

/// The activation a convolution applies as it writes its outputs (`rnnk_activation`).
package enum KernelActivation: Sendable, Equatable {
    case none, relu, tanh

    var c: rnnk_activation {
        switch self {
        case .none: RNNK_ACTIVATION_NONE
        case .relu: RNNK_ACTIVATION_RELU
        case .tanh: RNNK_ACTIVATION_TANH
        }
    }
}

/// The window of a 2-D convolution or max-pool (spec §6.1): kernel, stride, and the padding at the top
/// and left (the bottom and right padding are implied by the output size).
package struct Window: Sendable, Equatable {
    package var kernelHeight: Int
    package var kernelWidth: Int
    package var strideHeight: Int
    package var strideWidth: Int
    package var padTop: Int
    package var padLeft: Int

    package init(kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int, padTop: Int, padLeft: Int) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.padTop = padTop
        self.padLeft = padLeft
    }
}

/// One `conv2d` layer as `rnnk_conv2d` runs it, for the runtime and the trainer alike: the geometry of
/// its channels-last input and output maps and its weights in the kernel's layout.
///
/// Layout. A map is `height x width` pixels of `channelStride` floats. The output's channels are padded to
/// ``outChannelStride`` (a multiple of 8) with zero weights and bias, so padded channels are exactly 0
/// after any of the activations (`relu(0) = tanh(0) = 0`). The weights are `[KH * KW * C, outChannelStride]`:
/// row `(u * KW + v) * C + c` holds `W[o][c][u][v]` for every `o` (see ``pack(_:outChannels:inChannels:)``).
package struct Conv2DKernel: Sendable {
    package var inHeight: Int
    package var inWidth: Int
    package var inChannels: Int
    /// Floats per input pixel (`>= inChannels`: the previous layer's padded output channels).
    package var inChannelStride: Int
    package var window: Window
    package var outHeight: Int
    package var outWidth: Int
    package var outChannels: Int
    package var activation: KernelActivation
    /// `[KH * KW * inChannels, outChannelStride]`.
    package var weights: [Float]
    /// `[outChannelStride]`.
    package var bias: [Float]

    /// Output channels padded to a multiple of 8.
    package var outChannelStride: Int { 8 * outGroups }
    package var outGroups: Int { (outChannels + 7) / 8 }
    /// Floats of one input map and one output map.
    package var inputFloats: Int { inHeight * inWidth * inChannelStride }
    package var outputFloats: Int { outHeight * outWidth * outChannelStride }
    /// Rows of the weight matrix: the inputs of one window.
    package var windowSize: Int { window.kernelHeight * window.kernelWidth * inChannels }

    /// `weight` is `W[o][c][u][v]` (the format's `[O, C, KH, KW]`, row-major); `bias` `[O]` (nil: zero).
    package init(inHeight: Int, inWidth: Int, inChannels: Int, inChannelStride: Int, window: Window,
                 outHeight: Int, outWidth: Int, outChannels: Int, activation: KernelActivation,
                 weight: [Float], bias: [Float]?) {
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.inChannels = inChannels
        self.inChannelStride = inChannelStride
        self.window = window
        self.outHeight = outHeight
        self.outWidth = outWidth
        self.outChannels = outChannels
        self.activation = activation
        self.weights = []
        self.bias = []
        self.weights = pack(weight)
        self.bias = [Float](repeating: 0, count: outChannelStride)
        if let bias { for o in 0..<outChannels { self.bias[o] = bias[o] } }
    }

    /// `W[o][c][u][v]` to the kernel's rows `(u * KW + v) * C + c`, columns `o` (padded columns 0).
    package func pack(_ weight: [Float]) -> [Float] {
        let kh = window.kernelHeight, kw = window.kernelWidth, c = inChannels, os = outChannelStride
        precondition(weight.count == outChannels * c * kh * kw)
        var packed = [Float](repeating: 0, count: kh * kw * c * os)
        for o in 0..<outChannels { for ch in 0..<c { for u in 0..<kh { for v in 0..<kw {
            packed[((u * kw + v) * c + ch) * os + o] = weight[((o * c + ch) * kh + u) * kw + v]
        } } } }
        return packed
    }

    /// The inverse of ``pack(_:)`` for a gradient in the kernel's layout: `[O, C, KH, KW]`.
    package func unpack(_ packed: UnsafePointer<Float>) -> [Float] {
        let kh = window.kernelHeight, kw = window.kernelWidth, c = inChannels, os = outChannelStride
        var weight = [Float](repeating: 0, count: outChannels * c * kh * kw)
        for o in 0..<outChannels { for ch in 0..<c { for u in 0..<kh { for v in 0..<kw {
            weight[((o * c + ch) * kh + u) * kw + v] = packed[((u * kw + v) * c + ch) * os + o]
        } } } }
        return weight
    }

    /// The C arguments for `images` maps; pointers filled by the caller.
    package func arguments(images: Int) -> rnnk_conv2d_args {
        var a = rnnk_conv2d_args()
        a.images = Int32(images)
        a.in_height = Int32(inHeight)
        a.in_width = Int32(inWidth)
        a.in_channels = Int32(inChannels)
        a.in_channel_stride = Int32(inChannelStride)
        a.x_image_stride = inputFloats
        a.kernel_height = Int32(window.kernelHeight)
        a.kernel_width = Int32(window.kernelWidth)
        a.stride_height = Int32(window.strideHeight)
        a.stride_width = Int32(window.strideWidth)
        a.pad_top = Int32(window.padTop)
        a.pad_left = Int32(window.padLeft)
        a.out_height = Int32(outHeight)
        a.out_width = Int32(outWidth)
        a.out_groups = Int32(outGroups)
        a.activation = activation.c
        a.y_image_stride = outputFloats
        return a
    }

    /// Floats of the scratch buffer ``run(isa:images:x:y:scratch:)`` needs.
    package var scratchFloats: Int {
        var a = arguments(images: 1)
        return max(1, rnnk_conv2d_scratch_floats(&a))
    }

    /// `y = activation(conv2d(x) + b)` for `images` maps, `x` and `y` contiguous (``inputFloats`` and
    /// ``outputFloats`` apart). A vector variant this CPU lacks falls back to the portable one.
    package func run(isa: KernelISA, images: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                     scratch: UnsafeMutablePointer<Float>) {
        weights.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                var a = arguments(images: images)
                a.x = x
                a.w = w.baseAddress
                a.bias = b.baseAddress
                a.y = y
                a.scratch = scratch
                var status = rnnk_conv2d(isa.c, &a)
                if status == RNNK_UNAVAILABLE { status = rnnk_conv2d(RNNK_ISA_NONE, &a) }
                precondition(status == RNNK_OK, "rnnk_conv2d: \(String(cString: rnnk_status_message(status)))")
            }
        }
    }

    /// The window inputs of every output pixel, `[images * outHeight * outWidth, windowSize]` (`rnnk_im2col`).
    package func im2col(images: Int, x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        var a = arguments(images: images)
        a.x = x
        let status = rnnk_im2col(&a, col)
        precondition(status == RNNK_OK, "rnnk_im2col: \(String(cString: rnnk_status_message(status)))")
    }

    /// Adds each element of `col` into the input position it came from (`rnnk_col2im`, the adjoint of ``im2col``).
    package func col2im(images: Int, col: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        var a = arguments(images: images)
        let status = rnnk_col2im(&a, col, dx)
        precondition(status == RNNK_OK, "rnnk_col2im: \(String(cString: rnnk_status_message(status)))")
    }
}

/// One `maxpool2d` layer as `rnnk_maxpool2d` runs it: every one of `channels` floats per pixel pooled.
package struct MaxPool2DKernel: Sendable {
    package var inHeight: Int
    package var inWidth: Int
    package var channels: Int
    package var window: Window
    package var outHeight: Int
    package var outWidth: Int

    package init(inHeight: Int, inWidth: Int, channels: Int, window: Window, outHeight: Int, outWidth: Int) {
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.channels = channels
        self.window = window
        self.outHeight = outHeight
        self.outWidth = outWidth
    }

    package var inputFloats: Int { inHeight * inWidth * channels }
    package var outputFloats: Int { outHeight * outWidth * channels }

    /// Pools `images` contiguous maps; with `argmax`, records where each output came from (the trainer).
    package func run(images: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                     argmax: UnsafeMutablePointer<Int32>? = nil) {
        var a = rnnk_maxpool2d_args()
        a.images = Int32(images)
        a.channels = Int32(channels)
        a.x = x
        a.in_height = Int32(inHeight)
        a.in_width = Int32(inWidth)
        a.x_image_stride = inputFloats
        a.kernel_height = Int32(window.kernelHeight)
        a.kernel_width = Int32(window.kernelWidth)
        a.stride_height = Int32(window.strideHeight)
        a.stride_width = Int32(window.strideWidth)
        a.pad_top = Int32(window.padTop)
        a.pad_left = Int32(window.padLeft)
        a.out_height = Int32(outHeight)
        a.out_width = Int32(outWidth)
        a.y = y
        a.y_image_stride = outputFloats
        a.argmax = argmax
        let status = rnnk_maxpool2d(&a)
        precondition(status == RNNK_OK, "rnnk_maxpool2d: \(String(cString: rnnk_status_message(status)))")
    }
}
