import CRNNRuntime
import RNNFormat
import RNNRuntime

/// Loads the model file at `path` (header: `rnn_model_load`).
@c @implementation
public func rnn_model_load(_ path: UnsafePointer<CChar>?, _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> rnn_status {
    apiCall("rnn_model_load") { () throws(APIError) in
        let out = try required(outModel, "out_model")
        out.pointee = nil
        let path = try required(path, "path")
        // A path that is not UTF-8 cannot be named by the Swift reader; say so instead of opening
        // a repaired (different) path.
        guard let text = String(validatingCString: path) else {
            throw .invalidArgument("path is not valid UTF-8")
        }
        let model = try runtime { () throws(RuntimeError) in try Model(contentsOf: text) }
        out.pointee = try modelHandles.insert(model)
    }
}

/// Loads a model from the bytes of an `.rnnm` file (header: `rnn_model_load_from_memory`).
@c @implementation
public func rnn_model_load_from_memory(_ data: UnsafeRawPointer?, _ size: Int,
                                       _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> rnn_status {
    apiCall("rnn_model_load_from_memory") { () throws(APIError) in
        let out = try required(outModel, "out_model")
        out.pointee = nil
        let size = try length(size, "size")
        // The caller's length decides how much is copied: check it against the file-size cap first
        // (spec §7 step 4 allows this before reading anything), then copy with checked allocation,
        // so that neither a wrong length nor a short memory limit aborts the host.
        let cap = ReadLimits.default.maxFileBytes
        if size > cap {
            throw .runtime(.unreadableModel(path: nil, error: ModelFormatError(
                .limitExceeded, "size is \(size) bytes; the reader's file-size limit is \(cap) (spec §9); nothing was read")))
        }
        let bytes: [UInt8]
        if size == 0 {
            bytes = []  // data may be NULL; the reader reports the empty file
        } else {
            let source = UnsafeRawBufferPointer(start: try required(data, "data"), count: size)
            do throws(ModelFormatError) {
                bytes = try CheckedAllocation.array(copying: source, for: "a copy of the model's \(size) bytes")
            } catch {
                throw .runtime(.unreadableModel(path: nil, error: error))
            }
        }
        let model = try runtime { () throws(RuntimeError) in try Model(bytes: bytes) }
        out.pointee = try modelHandles.insert(model)
    }
}

/// Releases a handle (header: `rnn_model_free`).
@c @implementation
public func rnn_model_free(_ model: OpaquePointer?) -> rnn_status {
    apiCall("rnn_model_free") { () throws(APIError) in
        guard let model else { return }  // like free(NULL)
        try modelHandles.remove(model)
    }
}
