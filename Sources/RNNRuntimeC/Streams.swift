import CRNNRuntime
import RNNFormat
import RNNRuntime

// Streams (header: "Streams"): `rnn_stream *` handles over ``RNNRuntime/Stream``, which serializes
// its calls with a lock and holds its ``Model``, so a stream outlives `rnn_model_free` of its model.
// The runtime traps on a sequence index out of range, so every index is checked here first.

/// The most sequences one stream may hold (``RNNRuntime/Model/makeStream(count:options:)``'s range).
private let streamCountLimit = 4096

/// Sequence `index` of `stream`, checked against its count.
private func sequenceIndex(_ index: Int, of stream: Stream) throws(APIError) -> Int {
    let index = try length(index, "index")
    guard index < stream.count else {
        throw .invalidArgument("index is \(index), but the stream has \(counted(stream.count, "sequence")) (0 ... \(stream.count - 1))")
    }
    return index
}

/// Opens `count` live sequences through a model (header: `rnn_stream_create`).
@c @implementation
public func rnn_stream_create(_ model: OpaquePointer?, _ count: Int, _ outStream: UnsafeMutablePointer<OpaquePointer?>?) -> rnn_status {
    outStream?.pointee = nil
    return apiCall("rnn_stream_create") { () throws(APIError) in
        let model = try modelHandles.object(model)
        let out = try required(outStream, "out_stream")
        let count = try length(count, "count")
        guard (1...streamCountLimit).contains(count) else {
            throw .invalidArgument("count is \(count), expected 1 ... \(streamCountLimit) sequences")
        }
        // The stream's state and scratch rows, estimated with a wide margin (per sequence, 16 rows as
        // wide as the widest layer, input or output), so that a count the process cannot hold fails
        // cleanly instead of aborting in an allocation.
        let widest = model.metadata.layers.map { layer in
            switch layer {
            case .dense(let d): d.outputSize
            case .embedding(let e): e.dimension
            case .lstm(let l): 4 * l.hiddenSize
            case .gru(let g): 3 * g.hiddenSize
            case .pool(let p): p.size
            case .conv1d(let c): c.outChannels
            case .conv2d, .maxPool2d, .flatten: 1  // image models cannot stream (refused below)
            }
        }.reduce(max(model.input.width, model.classCount), max)
        let bytes = try product(count, 16 * (widest + 16) * model.metadata.layers.count * MemoryLayout<Float>.size,
                                "count x stream bytes per sequence")
        try reserve(bytes, for: "a stream of \(counted(count, "sequence"))")
        let stream = try runtime { () throws(RuntimeError) in try model.makeStream(count: count) }
        out.pointee = try streamHandles.insert(stream)
    }
}

/// Releases a stream (header: `rnn_stream_free`).
@c @implementation
public func rnn_stream_free(_ stream: OpaquePointer?) -> rnn_status {
    apiCall("rnn_stream_free") { () throws(APIError) in
        guard let stream else { return }  // like free(NULL)
        try streamHandles.remove(stream)
    }
}

/// The checks and the copy both step functions share: the stream, its model's kind, the lengths,
/// the pointers, `count x width` inputs, `count x outputs` room; then `step` runs (after the caller's
/// own value checks) and its outputs are copied.
private func stepEntry<Element>(_ function: StaticString, _ handle: OpaquePointer?, _ kind: InputContract.Kind,
                                _ input: UnsafePointer<Element>?, _ inputName: String, _ inputLength: Int,
                                _ outputs: UnsafeMutablePointer<Float>?, _ outputLength: Int,
                                _ step: (Stream, UnsafeBufferPointer<Element>) throws(APIError) -> [Float]) -> rnn_status {
    apiCall(function) { () throws(APIError) in
        let stream = try streamHandles.object(handle)
        try requireInputKind(stream.model, kind, use: stream.model.inputKind == .imageRows ? "rnn_stream_step_u8" : "rnn_stream_step")
        let inputLength = try length(inputLength, "\(inputName)_len")
        let outputLength = try length(outputLength, "out_len")
        let input = try required(input, inputName)
        let outputs = try required(outputs, "out_outputs")
        let expected = stream.count * stream.width
        guard inputLength == expected else {
            throw .inputSize("\(inputName)_len is \(inputLength), but \(counted(stream.count, "sequence")) x \(stream.width) "
                + "\(kind == .imageRows ? "pixels" : "features") need \(expected) \(inputName)")
        }
        let needed = stream.count * stream.outputCount
        guard outputLength >= needed else {
            throw .bufferTooSmall("out_len is \(outputLength), but \(counted(stream.count, "sequence")) x \(stream.outputCount) "
                + "outputs need \(needed) floats")
        }
        write(try step(stream, UnsafeBufferPointer(start: input, count: expected)), to: outputs)
    }
}

/// Steps every sequence of a features model's stream once (header: `rnn_stream_step`).
@c @implementation
public func rnn_stream_step(_ stream: OpaquePointer?, _ values: UnsafePointer<Float>?, _ valuesLength: Int,
                            _ outOutputs: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    stepEntry("rnn_stream_step", stream, .features, values, "values", valuesLength, outOutputs, outLength) { stream, values throws(APIError) in
        // The runtime would name the step 0 of a one-step sequence; say which sequence and feature.
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("values[\(bad)] (sequence \(bad / stream.width), feature \(bad % stream.width)) is \(values[bad]), "
                + "expected a finite value")
        }
        return try runtime { () throws(RuntimeError) in try stream.step(Array(values)) }
    }
}

/// Steps every sequence of an image-row model's stream with one row of pixels (header: `rnn_stream_step_u8`).
@c @implementation
public func rnn_stream_step_u8(_ stream: OpaquePointer?, _ pixels: UnsafePointer<UInt8>?, _ pixelsLength: Int,
                               _ outOutputs: UnsafeMutablePointer<Float>?, _ outLength: Int) -> rnn_status {
    stepEntry("rnn_stream_step_u8", stream, .imageRows, pixels, "pixels", pixelsLength, outOutputs, outLength) { stream, pixels throws(APIError) in
        try runtime { () throws(RuntimeError) in try stream.step(pixels: Array(pixels)) }
    }
}

/// Starts one sequence over (header: `rnn_stream_reset`).
@c @implementation
public func rnn_stream_reset(_ stream: OpaquePointer?, _ index: Int) -> rnn_status {
    apiCall("rnn_stream_reset") { () throws(APIError) in
        let stream = try streamHandles.object(stream)
        stream.reset(stream: try sequenceIndex(index, of: stream))
    }
}

/// Starts every sequence over (header: `rnn_stream_reset_all`).
@c @implementation
public func rnn_stream_reset_all(_ stream: OpaquePointer?) -> rnn_status {
    apiCall("rnn_stream_reset_all") { () throws(APIError) in
        try streamHandles.object(stream).reset()
    }
}

/// Floats in one sequence's state (header: `rnn_stream_state_size`).
@c @implementation
public func rnn_stream_state_size(_ stream: OpaquePointer?, _ outSize: UnsafeMutablePointer<Int>?) -> rnn_status {
    apiCall("rnn_stream_state_size") { () throws(APIError) in
        let stream = try streamHandles.object(stream)
        try required(outSize, "out_size").pointee = stream.stateSize
    }
}

/// The checks both state functions make, in the header's order: the stream, the index, the buffer,
/// then `check` on the state length (a buffer too short to read into, or not a whole state).
private func stateCall<Buffer>(_ handle: OpaquePointer?, _ index: Int, _ buffer: Buffer?, _ bufferName: String, _ stateLength: Int,
                               _ check: (_ length: Int, _ size: Int) throws(APIError) -> Void) throws(APIError) -> (Stream, Int, Buffer, Int) {
    let stream = try streamHandles.object(handle)
    let index = try sequenceIndex(index, of: stream)
    let stateLength = try length(stateLength, "state_len")
    let buffer = try required(buffer, bufferName)
    try check(stateLength, stream.stateSize)
    return (stream, index, buffer, stateLength)
}

/// Copies one sequence's state (header: `rnn_stream_get_state`).
@c @implementation
public func rnn_stream_get_state(_ stream: OpaquePointer?, _ index: Int, _ outState: UnsafeMutablePointer<Float>?,
                                 _ stateLength: Int) -> rnn_status {
    apiCall("rnn_stream_get_state") { () throws(APIError) in
        let (stream, index, out, _) = try stateCall(stream, index, outState, "out_state", stateLength) { length, size throws(APIError) in
            guard length >= size else { throw .bufferTooSmall("state_len is \(length), but the model's state has \(size) values") }
        }
        write(stream.state(stream: index), to: out)
    }
}

/// Replaces one sequence's state (header: `rnn_stream_set_state`).
@c @implementation
public func rnn_stream_set_state(_ stream: OpaquePointer?, _ index: Int, _ state: UnsafePointer<Float>?,
                                 _ stateLength: Int) -> rnn_status {
    apiCall("rnn_stream_set_state") { () throws(APIError) in
        let (stream, index, state, stateLength) = try stateCall(stream, index, state, "state", stateLength) { length, size throws(APIError) in
            guard length == size else { throw .inputSize("state_len is \(length), but the model's state has \(size) values") }
        }
        let values = UnsafeBufferPointer(start: state, count: stateLength)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("state[\(bad)] is \(values[bad]), expected a finite value")
        }
        try runtime { () throws(RuntimeError) in try stream.restore(Array(values), stream: index) }
    }
}
