"""rnn_runtime -- a ctypes binding of librnnruntime's C API (Sources/CRNNRuntime/include/rnn_runtime.h).

Standard library only. Every C call's status is checked; a failure raises RNNError carrying the
status name and the library's thread-local message.

    from rnn_runtime import Runtime
    rt = Runtime()                                   # finds librnnruntime.so (see find_library)
    with rt.load("mnist-lstm.rnnm") as model:
        print(model.height, model.width, model.labels)
        classes = model.classify_classes(pixels)     # bytes of count x height x width u8 pixels
    with rt.load("reviews.rnnm") as model:           # a text model (C API 1.1)
        rows = model.classify_texts(["A wonderful film."], probabilities=True)

Every function of the header is declared (argument and result types), the 1.1 ones included: call
them through `runtime.lib` (streams: rnn_stream_create, rnn_stream_step, ...; see rnn_runtime.h).
"""
import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char_p, c_float, c_int, c_int32, c_size_t, c_uint8, c_uint32, c_void_p

#: The header version this binding was written against (RNN_RUNTIME_VERSION_MAJOR).
HEADER_MAJOR = 1

#: The rnn_status values of the header (part of the ABI: they never change).
RNN_OK = 0
RNN_ERROR_NULL_ARGUMENT = 1
RNN_ERROR_INVALID_HANDLE = 2
RNN_ERROR_INVALID_ARGUMENT = 3
RNN_ERROR_BUFFER_TOO_SMALL = 4
RNN_ERROR_INPUT_SIZE = 5
RNN_ERROR_UNSUPPORTED_MODEL = 20

#: rnn_input_kind and rnn_output_kind (C API 1.1).
RNN_INPUT_IMAGE_ROWS, RNN_INPUT_TOKENS, RNN_INPUT_FEATURES = 1, 2, 3
#: (C API 1.2) a convolutional image model (format 1.4): channels x height x width bytes per image.
RNN_INPUT_IMAGE = 4
RNN_OUTPUT_LOGITS, RNN_OUTPUT_VALUES = 1, 2


class RNNError(Exception):
    """A C API call returned a status other than RNN_OK."""

    def __init__(self, status, name, message):
        super().__init__(f"{name}: {message}")
        self.status = status
        self.name = name
        self.message = message


def find_library():
    """$RNN_RUNTIME_LIBRARY, else librnnruntime.so next to this file, else the repository's
    .build/release, else the dynamic loader's search path (LD_LIBRARY_PATH, ldconfig)."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("RNN_RUNTIME_LIBRARY"),
                  os.path.join(here, "librnnruntime.so"),
                  os.path.join(here, "..", "..", ".build", "release", "librnnruntime.so")]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    return ctypes.util.find_library("rnnruntime") or "librnnruntime.so"


class Runtime:
    """The loaded shared library, with argument and result types declared for every function."""

    def __init__(self, path=None):
        self.path = path or find_library()
        lib = ctypes.CDLL(self.path)
        model = c_void_p  # rnn_model * (opaque)
        signatures = {
            "rnn_runtime_version": ([], c_uint32),
            "rnn_runtime_version_string": ([], c_char_p),
            "rnn_status_name": ([c_int], c_char_p),
            "rnn_last_error_message": ([], c_char_p),
            "rnn_model_load": ([c_char_p, POINTER(model)], c_int),
            "rnn_model_load_from_memory": ([c_void_p, c_size_t, POINTER(model)], c_int),
            "rnn_model_free": ([model], c_int),
            "rnn_model_input_shape": ([model, POINTER(c_size_t), POINTER(c_size_t)], c_int),
            "rnn_model_input_normalization": ([model, POINTER(c_float), POINTER(c_float)], c_int),
            "rnn_model_class_count": ([model, POINTER(c_size_t)], c_int),
            "rnn_model_label": ([model, c_size_t, c_char_p, c_size_t, POINTER(c_size_t)], c_int),
        }
        for kind, element in (("u8", c_uint8), ("f32", c_float)):
            signatures[f"rnn_classify_{kind}"] = ([model, POINTER(element), c_size_t, c_size_t, POINTER(c_float), c_size_t], c_int)
            signatures[f"rnn_classify_{kind}_probabilities"] = signatures[f"rnn_classify_{kind}"]
            signatures[f"rnn_classify_{kind}_classes"] = ([model, POINTER(element), c_size_t, c_size_t, POINTER(c_int32), c_size_t], c_int)
        # C API 1.1: model kinds, feature sequences, texts, streams.
        stream = c_void_p  # rnn_stream * (opaque)
        for query in ("input_kind", "output_kind", "outputs_per_step", "can_stream"):
            signatures[f"rnn_model_{query}"] = ([model, POINTER(c_int)], c_int)
        signatures["rnn_model_feature_shape"] = ([model, POINTER(c_size_t), POINTER(c_size_t)], c_int)
        features = [model, POINTER(c_float), c_size_t, c_size_t, c_size_t, POINTER(c_size_t)]
        texts = [model, POINTER(c_char_p), c_size_t]
        for prefix, arguments in (("rnn_classify_features", features), ("rnn_classify_texts", texts)):
            signatures[prefix] = (arguments + [POINTER(c_float), c_size_t], c_int)
            signatures[f"{prefix}_probabilities"] = signatures[prefix]
            signatures[f"{prefix}_classes"] = (arguments + [POINTER(c_int32), c_size_t], c_int)
        signatures.update({
            "rnn_stream_create": ([model, c_size_t, POINTER(stream)], c_int),
            "rnn_stream_free": ([stream], c_int),
            "rnn_stream_step": ([stream, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t], c_int),
            "rnn_stream_step_u8": ([stream, POINTER(c_uint8), c_size_t, POINTER(c_float), c_size_t], c_int),
            "rnn_stream_reset": ([stream, c_size_t], c_int),
            "rnn_stream_reset_all": ([stream], c_int),
            "rnn_stream_state_size": ([stream, POINTER(c_size_t)], c_int),
            "rnn_stream_get_state": ([stream, c_size_t, POINTER(c_float), c_size_t], c_int),
            "rnn_stream_set_state": ([stream, c_size_t, POINTER(c_float), c_size_t], c_int),
        })
        for name, (arguments, result) in signatures.items():
            function = getattr(lib, name)
            function.argtypes = arguments
            function.restype = result
        if hasattr(lib, "rnn_model_image_channels"):  # C API 1.2
            lib.rnn_model_image_channels.argtypes = [model, POINTER(c_size_t)]
            lib.rnn_model_image_channels.restype = c_int
        self.lib = lib
        self.version = lib.rnn_runtime_version()
        if self.version // 10000 != HEADER_MAJOR:
            raise RNNError(-1, "version", f"expected librnnruntime {HEADER_MAJOR}.x, found {self.version_string}")

    @property
    def version_string(self):
        return self.lib.rnn_runtime_version_string().decode()

    def status_name(self, status):
        return self.lib.rnn_status_name(status).decode()

    def check(self, status):
        """Raises RNNError for a failed call (the message is read on the same thread, as required)."""
        if status != RNN_OK:
            raise RNNError(status, self.status_name(status), self.lib.rnn_last_error_message().decode("utf-8", "replace"))

    def load(self, path):
        handle = c_void_p()
        self.check(self.lib.rnn_model_load(os.fsencode(path), ctypes.byref(handle)))
        return Model(self, handle)

    def load_from_memory(self, data):
        handle = c_void_p()
        self.check(self.lib.rnn_model_load_from_memory(data, len(data), ctypes.byref(handle)))
        return Model(self, handle)


class Model:
    """A loaded model. Use as a context manager, or call close(); closing twice is harmless here."""

    def __init__(self, runtime, handle):
        self.runtime, self.lib, self.handle = runtime, runtime.lib, handle
        height, width, classes = c_size_t(), c_size_t(), c_size_t()
        scale, offset = c_float(), c_float()
        runtime.check(self.lib.rnn_model_input_shape(handle, ctypes.byref(height), ctypes.byref(width)))
        runtime.check(self.lib.rnn_model_class_count(handle, ctypes.byref(classes)))
        runtime.check(self.lib.rnn_model_input_normalization(handle, ctypes.byref(scale), ctypes.byref(offset)))
        self.height, self.width, self.classes = height.value, width.value, classes.value
        self.scale, self.offset = scale.value, offset.value
        self.labels = [self.label(i) for i in range(self.classes)]
        kind = c_int()
        runtime.check(self.lib.rnn_model_input_kind(handle, ctypes.byref(kind)))
        self.kind = kind.value  # RNN_INPUT_IMAGE_ROWS, RNN_INPUT_TOKENS, RNN_INPUT_FEATURES or (1.2) RNN_INPUT_IMAGE
        self.channels = 1
        if hasattr(self.lib, "rnn_model_image_channels"):  # a 1.2 library
            channels = c_size_t()
            runtime.check(self.lib.rnn_model_image_channels(handle, ctypes.byref(channels)))
            self.channels = channels.value

    def label(self, index):
        required = c_size_t()
        status = self.lib.rnn_model_label(self.handle, index, None, 0, ctypes.byref(required))
        if status != RNN_ERROR_BUFFER_TOO_SMALL:  # the expected answer to a size query
            self.runtime.check(status)
        buffer = ctypes.create_string_buffer(required.value)
        self.runtime.check(self.lib.rnn_model_label(self.handle, index, buffer, len(buffer), None))
        return buffer.value.decode()

    def _pixels(self, pixels):
        """A ctypes view of `pixels` (bytes, bytearray or anything with the buffer protocol) and its count."""
        data = pixels if isinstance(pixels, bytearray) else bytearray(pixels)
        per_image = self.channels * self.height * self.width
        if len(data) % per_image:
            raise ValueError(f"expected a multiple of {per_image} pixels, found {len(data)}")
        return (c_uint8 * len(data)).from_buffer(data), len(data), len(data) // per_image

    def classify_classes(self, pixels):
        """Predicted class index of each image."""
        buffer, length, count = self._pixels(pixels)
        out = (c_int32 * max(count, 1))()
        self.runtime.check(self.lib.rnn_classify_u8_classes(self.handle, buffer, length, count, out, count))
        return list(out[:count])

    def classify_logits(self, pixels, probabilities=False):
        """count x classes logits (or probabilities), as a list of rows."""
        buffer, length, count = self._pixels(pixels)
        out = (c_float * max(count * self.classes, 1))()
        function = self.lib.rnn_classify_u8_probabilities if probabilities else self.lib.rnn_classify_u8
        self.runtime.check(function(self.handle, buffer, length, count, out, count * self.classes))
        return [list(out[i * self.classes:(i + 1) * self.classes]) for i in range(count)]

    def classify_texts(self, texts, probabilities=False):
        """Text models: count x classes logits (or probabilities) of `texts` (str or bytes), as rows."""
        encoded = [t.encode() if isinstance(t, str) else bytes(t) for t in texts]
        array = (c_char_p * max(len(encoded), 1))(*encoded)
        out = (c_float * max(len(encoded) * self.classes, 1))()
        function = self.lib.rnn_classify_texts_probabilities if probabilities else self.lib.rnn_classify_texts
        self.runtime.check(function(self.handle, array, len(encoded), out, len(encoded) * self.classes))
        return [list(out[i * self.classes:(i + 1) * self.classes]) for i in range(len(encoded))]

    def classify_features(self, sequences):
        """Features models: the output rows of `sequences` (each a list of steps, each a list of
        `width` floats), padded here into one [count, steps, width] array with their lengths. A
        per-step model gives one row per step of each sequence, in order."""
        steps = max((len(s) for s in sequences), default=1)
        values = (c_float * max(len(sequences) * steps * self.width, 1))()
        for i, sequence in enumerate(sequences):
            for t, step in enumerate(sequence):
                values[(i * steps + t) * self.width:(i * steps + t + 1) * self.width] = step
        lengths = (c_size_t * max(len(sequences), 1))(*[len(s) for s in sequences])
        per_step = c_int()
        self.runtime.check(self.lib.rnn_model_outputs_per_step(self.handle, ctypes.byref(per_step)))
        rows = sum(len(s) for s in sequences) if per_step.value else len(sequences)
        out = (c_float * max(rows * self.classes, 1))()
        self.runtime.check(self.lib.rnn_classify_features(self.handle, values, len(sequences) * steps * self.width,
                                                          len(sequences), steps, lengths, out, rows * self.classes))
        return [list(out[r * self.classes:(r + 1) * self.classes]) for r in range(rows)]

    def close(self):
        if self.handle is not None:
            handle, self.handle = self.handle, None
            self.runtime.check(self.lib.rnn_model_free(handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
