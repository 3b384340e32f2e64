import CRNNRuntime
import RNNRuntime

/// Writes two values of a model to the caller's two out-pointers (the pair queries below).
private func pairQuery<T>(_ function: StaticString, _ model: OpaquePointer?, _ first: UnsafeMutablePointer<T>?, _ firstName: String,
                          _ second: UnsafeMutablePointer<T>?, _ secondName: String, _ values: (Model) -> (T, T)) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let model = try HandleTable.shared.model(model)
        let a = try required(first, firstName), b = try required(second, secondName)
        (a.pointee, b.pointee) = values(model)
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

/// The number of classes (header: `rnn_model_class_count`).
@c @implementation
public func rnn_model_class_count(_ model: OpaquePointer?, _ outClasses: UnsafeMutablePointer<Int>?) -> rnn_status {
    apiCall("rnn_model_class_count") { () throws(APIError) in
        let model = try HandleTable.shared.model(model)
        try required(outClasses, "out_classes").pointee = model.classCount
    }
}

/// Copies the name of class `index` into the caller's buffer (header: `rnn_model_label`).
@c @implementation
public func rnn_model_label(_ model: OpaquePointer?, _ index: Int, _ buffer: UnsafeMutablePointer<CChar>?,
                            _ bufferLength: Int, _ outRequired: UnsafeMutablePointer<Int>?) -> rnn_status {
    apiCall("rnn_model_label") { () throws(APIError) in
        let model = try HandleTable.shared.model(model)
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
