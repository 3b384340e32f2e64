import CRNNRuntime
import RNNRuntime

/// Image height (time steps) and width (features per step) (header: `rnn_model_input_shape`).
@c @implementation
public func rnn_model_input_shape(_ model: OpaquePointer?, _ outHeight: UnsafeMutablePointer<Int>?,
                                  _ outWidth: UnsafeMutablePointer<Int>?) -> rnn_status {
    apiCall("rnn_model_input_shape") { () throws(APIError) in
        let model = try HandleTable.shared.model(model)
        let height = try required(outHeight, "out_height"), width = try required(outWidth, "out_width")
        height.pointee = model.input.height
        width.pointee = model.input.width
    }
}

/// The input contract's `scale` and `offset` (spec §6.2) (header: `rnn_model_input_normalization`).
@c @implementation
public func rnn_model_input_normalization(_ model: OpaquePointer?, _ outScale: UnsafeMutablePointer<Float>?,
                                          _ outOffset: UnsafeMutablePointer<Float>?) -> rnn_status {
    apiCall("rnn_model_input_normalization") { () throws(APIError) in
        let model = try HandleTable.shared.model(model)
        let scale = try required(outScale, "out_scale"), offset = try required(outOffset, "out_offset")
        scale.pointee = model.input.scale
        offset.pointee = model.input.offset
    }
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
