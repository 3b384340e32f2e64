import CRNNRuntime
import RNNRuntime

/// Writes two values of a model to the caller's two out-pointers (the pair queries below).
private func pairQuery<T>(_ function: StaticString, _ model: OpaquePointer?, _ first: UnsafeMutablePointer<T>?, _ firstName: String,
                          _ second: UnsafeMutablePointer<T>?, _ secondName: String,
                          _ values: (Model) throws(APIError) -> (T, T)) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let model = try modelHandles.object(model)
        let found = try values(model)  // a query for another kind of model fails before the pointers are checked
        let a = try required(first, firstName), b = try required(second, secondName)
        (a.pointee, b.pointee) = found
    }
}

/// Image height (time steps) and width (features per step) (header: `rnn_model_input_shape`).
@c @implementation
public func rnn_model_input_shape(_ model: OpaquePointer?, _ outHeight: UnsafeMutablePointer<Int>?,
                                  _ outWidth: UnsafeMutablePointer<Int>?) -> rnn_status {
    pairQuery("rnn_model_input_shape", model, outHeight, "out_height", outWidth, "out_width") { ($0.input.height, $0.input.width) }
}

/// The input contract's `scale` and `offset` (spec §6.2) (header: `rnn_model_input_normalization`).
@c @implementation
public func rnn_model_input_normalization(_ model: OpaquePointer?, _ outScale: UnsafeMutablePointer<Float>?,
                                          _ outOffset: UnsafeMutablePointer<Float>?) -> rnn_status {
    pairQuery("rnn_model_input_normalization", model, outScale, "out_scale", outOffset, "out_offset") { ($0.input.scale, $0.input.offset) }
}

/// Writes one value of a model to the caller's out-pointer (the single-value queries below).
private func valueQuery<T>(_ function: StaticString, _ model: OpaquePointer?, _ out: UnsafeMutablePointer<T>?, _ outName: String,
                           _ value: (Model) throws(APIError) -> T) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let model = try modelHandles.object(model)
        let out = try required(out, outName)
        out.pointee = try value(model)
    }
}

/// The number of classes (header: `rnn_model_class_count`).
@c @implementation
public func rnn_model_class_count(_ model: OpaquePointer?, _ outClasses: UnsafeMutablePointer<Int>?) -> rnn_status {
    valueQuery("rnn_model_class_count", model, outClasses, "out_classes") { $0.classCount }
}

/// Copies the name of class `index` into the caller's buffer (header: `rnn_model_label`).
@c @implementation
public func rnn_model_label(_ model: OpaquePointer?, _ index: Int, _ buffer: UnsafeMutablePointer<CChar>?,
                            _ bufferLength: Int, _ outRequired: UnsafeMutablePointer<Int>?) -> rnn_status {
    apiCall("rnn_model_label") { () throws(APIError) in
        let model = try modelHandles.object(model)
        let labels = model.labels
        let index = try length(index, "index")
        guard index < labels.count else {
            throw .invalidArgument("index is \(index), but the model has \(labels.count) classes (0...\(labels.count - 1))")
        }
        let utf8 = Array(labels[index].utf8)
        let needed = utf8.count + 1  // the NUL
        outRequired?.pointee = needed
        let capacity = try length(bufferLength, "buffer_len")
        guard capacity >= needed else {
            throw .bufferTooSmall("buffer_len is \(capacity), but label \(index) needs \(needed) bytes including the NUL")
        }
        let buffer = try required(buffer, "buffer")
        for (offset, byte) in utf8.enumerated() {
            buffer[offset] = CChar(bitPattern: byte)
        }
        buffer[utf8.count] = 0
    }
}

// MARK: Model kinds (1.1)

/// What the model reads (header: `rnn_model_input_kind`).
@c @implementation
public func rnn_model_input_kind(_ model: OpaquePointer?, _ outKind: UnsafeMutablePointer<rnn_input_kind>?) -> rnn_status {
    valueQuery("rnn_model_input_kind", model, outKind, "out_kind") { model in
        switch model.inputKind {
        case .imageRows: RNN_INPUT_IMAGE_ROWS
        case .tokens: RNN_INPUT_TOKENS
        case .features: RNN_INPUT_FEATURES
        case .image: RNN_INPUT_IMAGE
        }
    }
}

/// A features model's width and max_length (header: `rnn_model_feature_shape`).
@c @implementation
public func rnn_model_feature_shape(_ model: OpaquePointer?, _ outWidth: UnsafeMutablePointer<Int>?,
                                    _ outMaxLength: UnsafeMutablePointer<Int>?) -> rnn_status {
    pairQuery("rnn_model_feature_shape", model, outWidth, "out_width", outMaxLength, "out_max_length") { model throws(APIError) in
        try requireInputKind(model, .features, use: "rnn_model_input_shape")
        return (model.input.width, model.input.timeSteps)
    }
}

/// Logits or values (header: `rnn_model_output_kind`).
@c @implementation
public func rnn_model_output_kind(_ model: OpaquePointer?, _ outKind: UnsafeMutablePointer<rnn_output_kind>?) -> rnn_status {
    valueQuery("rnn_model_output_kind", model, outKind, "out_kind") { model in
        switch model.metadata.output {
        case .logits: RNN_OUTPUT_LOGITS
        case .values: RNN_OUTPUT_VALUES
        }
    }
}

/// 1 for a model with one output row per time step (header: `rnn_model_outputs_per_step`).
@c @implementation
public func rnn_model_outputs_per_step(_ model: OpaquePointer?, _ outPerStep: UnsafeMutablePointer<CInt>?) -> rnn_status {
    valueQuery("rnn_model_outputs_per_step", model, outPerStep, "out_per_step") { $0.metadata.outputsPerStep ? 1 : 0 }
}

/// 1 when `rnn_stream_create` accepts the model (header: `rnn_model_can_stream`).
@c @implementation
public func rnn_model_can_stream(_ model: OpaquePointer?, _ outCanStream: UnsafeMutablePointer<CInt>?) -> rnn_status {
    valueQuery("rnn_model_can_stream", model, outCanStream, "out_can_stream") { canStream($0) ? 1 : 0 }
}

/// An image's channels: an `image` model's, else 1 (header: `rnn_model_image_channels`, since 1.2).
@c @implementation
public func rnn_model_image_channels(_ model: OpaquePointer?, _ outChannels: UnsafeMutablePointer<Int>?) -> rnn_status {
    valueQuery("rnn_model_image_channels", model, outChannels, "out_channels") { $0.input.channels }
}
