/*
 * rnn_runtime.h -- the stable C API of the RNN inference runtime (librnnruntime).
 *
 * Loads an `.rnnm` model file (spec/FORMAT.md) and runs it: classifies batches of images (1.0),
 * feature sequences of different lengths and texts (1.1), or steps live streams one time step at a
 * time (1.1).
 * This header is the whole ABI: it is hand-written, C99, and names no Swift type. The library
 * behind it is written in Swift (Sources/RNNRuntimeC), and `@c @implementation` makes the Swift
 * compiler check every definition against the declarations below.
 *
 * Conventions (they hold for every function unless its comment says otherwise):
 *
 *  - Every function that can fail returns an `rnn_status`; `RNN_OK` (0) means success. On failure
 *    `rnn_last_error_message()` says what was expected and what was found, and no output buffer
 *    was written. Nothing ever aborts, throws or longjmps across this boundary because of bad input.
 *  - Handles are opaque (`rnn_model *`, `rnn_stream *`), created by `rnn_model_load*` (and
 *    `rnn_stream_create`) and released by `rnn_model_free` (`rnn_stream_free`). Handles are checked
 *    on every call: NULL gives RNN_ERROR_NULL_ARGUMENT, a handle that was freed or never came from
 *    this library (or is a handle of the other type) gives RNN_ERROR_INVALID_HANDLE.
 *  - Every output buffer belongs to the caller and comes with its length in elements (not bytes).
 *    A buffer that is too short gives RNN_ERROR_BUFFER_TOO_SMALL and is left untouched.
 *  - Lengths are `size_t`; the library checks every product of lengths for overflow.
 *  - Thread safety: a loaded model is immutable. Any number of threads may call the query and
 *    classify functions on one shared model at the same time. `rnn_model_free` may be called while
 *    other threads still classify with the model: those calls finish normally and the memory is
 *    released when the last of them returns; later calls with the freed handle fail with
 *    RNN_ERROR_INVALID_HANDLE. A stream (1.1) has state; its calls are serialized by a lock inside
 *    it (see "Streams" below). The last error message is thread-local.
 *
 * Usage:
 *
 *     rnn_model *model;
 *     if (rnn_model_load("mnist-lstm.rnnm", &model) != RNN_OK) {
 *         fprintf(stderr, "%s\n", rnn_last_error_message());
 *         return 1;
 *     }
 *     size_t height, width, classes;
 *     rnn_model_input_shape(model, &height, &width);
 *     rnn_model_class_count(model, &classes);
 *     int32_t predicted[100];
 *     rnn_status s = rnn_classify_u8_classes(model, pixels, 100 * height * width, 100, predicted, 100);
 *     rnn_model_free(model);
 *
 * Since 1.1 every input kind loads (a 1.0 library refused text models at load); functions of one
 * kind called with a model of another return RNN_ERROR_UNSUPPORTED_MODEL (see "Model kinds").
 *
 * Build: `swift build -c release --product rnnruntime` writes .build/release/librnnruntime.so;
 * compile with `-I Sources/CRNNRuntime/include` and link with `-L .build/release -lrnnruntime`.
 * See examples/README.md for shipping (which Swift runtime libraries the .so needs).
 */
#ifndef RNN_RUNTIME_H
#define RNN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

/* The version of this header. A library with the same MAJOR and a MINOR at least this one
 * implements every declaration here; compare with rnn_runtime_version() at run time. */
#define RNN_RUNTIME_VERSION_MAJOR 1
#define RNN_RUNTIME_VERSION_MINOR 2
#define RNN_RUNTIME_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, the form rnn_runtime_version() returns. */
#define RNN_RUNTIME_VERSION_NUMBER \
    (RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH)
#define RNN_RUNTIME_VERSION_STRING "1.2.0"

/* The version of the library loaded at run time, as MAJOR * 10000 + MINOR * 100 + PATCH. */
uint32_t rnn_runtime_version(void);

/* The same version as a static string such as "1.1.0"; never NULL, never to be freed. */
const char *rnn_runtime_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------- */

/* What a call did. The numeric values are part of the ABI and never change. */
typedef enum rnn_status {
    RNN_OK = 0,

    /* The caller's arguments (1..9). */
    RNN_ERROR_NULL_ARGUMENT = 1,      /* a required pointer argument is NULL */
    RNN_ERROR_INVALID_HANDLE = 2,     /* the model handle was freed, or never came from rnn_model_load* */
    RNN_ERROR_INVALID_ARGUMENT = 3,   /* a value out of range: label index, non-finite feature, sizes that overflow
                                         (1.1: a sequence length, a stream count or sequence index) */
    RNN_ERROR_BUFFER_TOO_SMALL = 4,   /* an output buffer shorter than the result */
    RNN_ERROR_INPUT_SIZE = 5,         /* an input length that is not count x height x width (1.1: not
                                         count x steps x width, count x width, the state size) */

    /* The model file (10..19): the error classes of spec/FORMAT.md section 8. */
    RNN_ERROR_IO = 10,                  /* the file could not be opened or read */
    RNN_ERROR_NOT_A_MODEL = 11,         /* wrong magic: not an .rnnm file */
    RNN_ERROR_TRUNCATED = 12,           /* the file ends early */
    RNN_ERROR_CORRUPTED = 13,           /* checksum mismatch */
    RNN_ERROR_UNSUPPORTED_VERSION = 14, /* a format version this library cannot read */
    RNN_ERROR_UNSUPPORTED_FEATURE = 15, /* an unknown required feature, codec, dtype, layer type... */
    RNN_ERROR_LIMIT_EXCEEDED = 16,      /* a size or count beyond the format's limits, or more memory
                                           than the process can allocate (never an abort) */
    RNN_ERROR_MALFORMED = 17,           /* the structure violates the spec */
    RNN_ERROR_SHAPE_MISMATCH = 18,      /* a tensor's shape disagrees with its layer */
    RNN_ERROR_INVALID_TENSOR = 19,      /* a non-finite weight or an invalid quantization scale */

    /* The runtime (20..). */
    RNN_ERROR_UNSUPPORTED_MODEL = 20, /* a valid file whose network this API cannot run, or a function
                                         for another kind of model (since 1.1: e.g. rnn_classify_u8 with
                                         a text model, a stream of a bidirectional model) */
    RNN_ERROR_INTERNAL = 99           /* a bug in the library; please report it */
} rnn_status;

/* The enumerator's name, e.g. "RNN_ERROR_BUFFER_TOO_SMALL", or "RNN_ERROR_UNKNOWN" for a value not
 * listed above. Static storage; never NULL, never to be freed. */
const char *rnn_status_name(rnn_status status);

/* The message of the most recent failed call on the calling thread, e.g.
 * "rnn_classify_u8: out_len is 10, but 2 images x 10 classes need 20 floats".
 * Every call that returns an rnn_status sets it: to the empty string on success. Never NULL.
 * Owned by the library, thread-local, valid until the calling thread's next call into this API. */
const char *rnn_last_error_message(void);

/* ---------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------- */

/* A loaded, immutable classifier. Opaque: only pointers to it exist. */
typedef struct rnn_model rnn_model;

/* Reads, verifies (checksum, versions, structure, values: spec section 7) and loads the model file
 * at `path` (a NUL-terminated file-system path). On success *out_model receives a new handle that
 * the caller releases with rnn_model_free; on failure it receives NULL. Recurrent layers stored as
 * int8 run the int8 evaluation (spec section 6.6: integer products, activations quantized per step),
 * the Swift runtime's default; every other layer runs in binary32. */
rnn_status rnn_model_load(const char *path, rnn_model **out_model);

/* Like rnn_model_load, from the `size` bytes of an .rnnm file at `data`. The library copies what it
 * needs: the caller may free `data` as soon as the call returns. A `size` above the file-size cap
 * (4 GiB) is RNN_ERROR_LIMIT_EXCEEDED before a byte of `data` is read. */
rnn_status rnn_model_load_from_memory(const void *data, size_t size, rnn_model **out_model);

/* Releases a handle. NULL is accepted and does nothing (RNN_OK). A handle that was already freed
 * gives RNN_ERROR_INVALID_HANDLE instead of a double free. */
rnn_status rnn_model_free(rnn_model *model);

/* ---------------------------------------------------------------------------------------------
 * The input contract and the classes
 * ------------------------------------------------------------------------------------------- */

/* An image is `height` rows of `width` pixels (one row per LSTM time step), row-major.
 * (1.2) An RNN_INPUT_IMAGE model's images are `channels` such planes, channels first: see
 * rnn_model_image_channels; one plane for a grey-scale model. (1.1) Other kinds: `height` is the longest sequence (max_length) and `width` the values per step
 * (1 for a text model, whose steps are tokens); see also rnn_model_feature_shape. */
rnn_status rnn_model_input_shape(const rnn_model *model, size_t *out_height, size_t *out_width);

/* (1.2) The channels of an image: an RNN_INPUT_IMAGE model's (spec 6.2.3); 1 for every other kind. An
 * image is `channels x height x width` bytes. */
rnn_status rnn_model_image_channels(const rnn_model *model, size_t *out_channels);

/* The model's input normalization (spec section 6.2): feature = (float)pixel * scale + offset,
 * computed in binary32. rnn_classify_u8* apply it; rnn_classify_f32* expect it already applied.
 * (1.1) Other kinds report scale 1 and offset 0: a features model standardizes its input itself
 * (spec section 6.2.2) inside rnn_classify_features* and rnn_stream_step. */
rnn_status rnn_model_input_normalization(const rnn_model *model, float *out_scale, float *out_offset);

/* The number of classes: the length of each row of logits or probabilities. (1.1) For a values
 * model (RNN_OUTPUT_VALUES) the number of values in each output row. */
rnn_status rnn_model_class_count(const rnn_model *model, size_t *out_classes);

/* Copies the name of class `index` (0-based, < class count) into `buffer` as NUL-terminated UTF-8.
 * `*out_required` (if `out_required` is not NULL) receives the bytes needed including the NUL, also
 * when the buffer is too small (RNN_ERROR_BUFFER_TOO_SMALL). `buffer` may be NULL when
 * `buffer_len` is 0, to ask for the size. Labels are 1..256 bytes, so 257 bytes always suffice. */
rnn_status rnn_model_label(const rnn_model *model, size_t index, char *buffer, size_t buffer_len,
                           size_t *out_required);

/* ---------------------------------------------------------------------------------------------
 * Classification
 *
 * Each function classifies `count` images and writes one result per image, in input order.
 * Inputs are `count x height x width` values, row-major (the layout of an IDX image file), and the
 * input length must be exactly that (RNN_ERROR_INPUT_SIZE otherwise). `count` may be 0 (the input
 * pointer may then be NULL). Each call runs on the calling thread only, and the same batch gives
 * bitwise identical results on any thread. (Splitting a batch differently may change the last bits
 * of the logits: the runtime computes blocks of images with one matrix product each.)
 *
 *   ..._u8                 logits        `count x classes` floats (out_len >= count * classes)
 *   ..._u8_probabilities   softmax(logits), the same layout
 *   ..._u8_classes         the predicted class of each image, `count` int32 (the index of the
 *                          largest logit; the lowest index on ties)
 *
 * The _u8 functions take raw pixels as stored in the file and apply the model's normalization;
 * the _f32 functions take features that are already normalized (see
 * rnn_model_input_normalization) and refuse non-finite values (RNN_ERROR_INVALID_ARGUMENT).
 *
 * (1.1) These functions run image-row models only (RNN_INPUT_IMAGE_ROWS); any other model gives
 * RNN_ERROR_UNSUPPORTED_MODEL before any other argument is checked. A per-step image model
 * (rnn_model_outputs_per_step) writes `height` rows per image, in step order: `count x height x
 * classes` floats, `count x height` classes. A values model (RNN_OUTPUT_VALUES) has no
 * probabilities or classes: its ..._probabilities and ..._classes calls give
 * RNN_ERROR_UNSUPPORTED_MODEL, and rnn_classify_u8 / rnn_classify_f32 write its values.
 * ------------------------------------------------------------------------------------------- */

rnn_status rnn_classify_u8(const rnn_model *model, const uint8_t *pixels, size_t pixels_len, size_t count,
                           float *out_logits, size_t out_len);
rnn_status rnn_classify_u8_probabilities(const rnn_model *model, const uint8_t *pixels, size_t pixels_len,
                                         size_t count, float *out_probabilities, size_t out_len);
rnn_status rnn_classify_u8_classes(const rnn_model *model, const uint8_t *pixels, size_t pixels_len,
                                   size_t count, int32_t *out_classes, size_t out_len);

rnn_status rnn_classify_f32(const rnn_model *model, const float *features, size_t features_len, size_t count,
                            float *out_logits, size_t out_len);
rnn_status rnn_classify_f32_probabilities(const rnn_model *model, const float *features, size_t features_len,
                                          size_t count, float *out_probabilities, size_t out_len);
rnn_status rnn_classify_f32_classes(const rnn_model *model, const float *features, size_t features_len,
                                    size_t count, int32_t *out_classes, size_t out_len);

/* ---------------------------------------------------------------------------------------------
 * Model kinds (1.1)
 *
 * A model reads one of three kinds of input (spec/FORMAT.md section 6.2) and gives one of two kinds
 * of output (section 6.5). Each input kind has its own functions:
 *
 *   input kind             classify with                         stream with
 *   RNN_INPUT_IMAGE_ROWS   rnn_classify_u8*, rnn_classify_f32*   rnn_stream_step_u8
 *   RNN_INPUT_FEATURES     rnn_classify_features*                rnn_stream_step
 *   RNN_INPUT_TOKENS       rnn_classify_texts*                   (cannot stream)
 *   RNN_INPUT_IMAGE (1.2)  rnn_classify_u8*, rnn_classify_f32*   (cannot stream: no time steps)
 *
 * A function of another kind returns RNN_ERROR_UNSUPPORTED_MODEL, with a message naming the
 * functions to use, and writes nothing.
 *
 * Output rows. A model whose last recurrent layer returns one vector gives one output row per input
 * (image, sequence, text). A per-step model (its last recurrent layer returns its sequence, spec
 * section 6.5) gives one row per time step of each input: rows are in input order and, within an
 * input, in step order, so input i's rows start after the rows of inputs 0 .. i-1. Each row has
 * rnn_model_class_count values.
 * ------------------------------------------------------------------------------------------- */

/* What a model reads. The numeric values are part of the ABI and never change. */
typedef enum rnn_input_kind {
    RNN_INPUT_IMAGE_ROWS = 1, /* u8 images, one row of pixels per time step (spec 6.2) */
    RNN_INPUT_TOKENS = 2,     /* UTF-8 text, tokenized by the model's own pipeline (spec 6.2.1) */
    RNN_INPUT_FEATURES = 3,   /* sequences of `width` floats per time step (spec 6.2.2) */
    RNN_INPUT_IMAGE = 4       /* (1.2) u8 images read whole by convolutions, channels x height x width,
                                 channels first (spec 6.2.3); classified by rnn_classify_u8* and
                                 rnn_classify_f32* like image rows; cannot stream */
} rnn_input_kind;

/* What a model's output rows are. The numeric values are part of the ABI and never change. */
typedef enum rnn_output_kind {
    RNN_OUTPUT_LOGITS = 1, /* class logits: probabilities are their softmax, the class their arg-max */
    RNN_OUTPUT_VALUES = 2  /* real values (regression), used as they are: no probabilities, no classes */
} rnn_output_kind;

/* The model's input kind. */
rnn_status rnn_model_input_kind(const rnn_model *model, rnn_input_kind *out_kind);

/* A features model's values per time step (`width`, 1 ..= 65,536) and the longest sequence
 * rnn_classify_features* accepts (`max_length`, 1 ..= 65,536; a stream has no limit).
 * Another kind of model: RNN_ERROR_UNSUPPORTED_MODEL (see rnn_model_input_shape). */
rnn_status rnn_model_feature_shape(const rnn_model *model, size_t *out_width, size_t *out_max_length);

/* The model's output kind. */
rnn_status rnn_model_output_kind(const rnn_model *model, rnn_output_kind *out_kind);

/* *out_per_step receives 1 for a per-step model (one output row per time step), else 0. */
rnn_status rnn_model_outputs_per_step(const rnn_model *model, int *out_per_step);

/* *out_can_stream receives 1 when rnn_stream_create accepts the model, else 0: a model with a
 * bidirectional layer (its backward direction starts from the end of the sequence), a text model
 * (its pipeline truncates whole texts) and a pooled model (format 1.3, a pool layer: this runtime
 * does not carry the running pool) cannot stream (spec section 6.5). */
rnn_status rnn_model_can_stream(const rnn_model *model, int *out_can_stream);

/* ---------------------------------------------------------------------------------------------
 * Feature sequences (1.1; RNN_INPUT_FEATURES models)
 *
 * Runs `count` sequences stored padded in one `[count, steps, width]` array of floats, row-major
 * (how a NumPy array of that shape holds them): sequence i is its first lengths[i] time steps,
 * starting at values[i * steps * width]. Values past a sequence's length are padding and never
 * read (NaN is fine there). `lengths` may be NULL: every sequence is then `steps` long. Pass the
 * source values: the model's standardization (spec 6.2.2) is applied here. A sequence runs over
 * exactly its own steps (padding never changes an output).
 *
 *   rnn_classify_features                 `rows x classes` floats: logits (a values model: values)
 *   rnn_classify_features_probabilities   softmax of each row, the same layout (logits models only)
 *   rnn_classify_features_classes         the arg-max of each row, `rows` int32 (logits models only)
 *
 * where `rows` is `count`, or for a per-step model lengths[0] + ... + lengths[count - 1] (sequence
 * i's rows come after the rows of sequences 0 .. i-1, one per step, in step order).
 *
 * Checks, in this order (the first failure is returned, nothing is written):
 *   model NULL (RNN_ERROR_NULL_ARGUMENT) or not live (RNN_ERROR_INVALID_HANDLE); not a features
 *   model, or a values model in the _probabilities / _classes functions (RNN_ERROR_UNSUPPORTED_MODEL);
 *   a size_t above SSIZE_MAX (RNN_ERROR_INVALID_ARGUMENT); `values` NULL although values_len or
 *   count is not 0, the output NULL although out_len or count is not 0 (RNN_ERROR_NULL_ARGUMENT);
 *   count x steps x width overflowing (RNN_ERROR_INVALID_ARGUMENT) or differing from values_len
 *   (RNN_ERROR_INPUT_SIZE); a length of 0, above `steps` or above the model's max_length
 *   (RNN_ERROR_INVALID_ARGUMENT, naming the sequence); out_len below the result
 *   (RNN_ERROR_BUFFER_TOO_SMALL); results larger than the process can allocate
 *   (RNN_ERROR_LIMIT_EXCEEDED); a NaN or infinite value within a sequence
 *   (RNN_ERROR_INVALID_ARGUMENT, naming sequence, step and feature).
 * `count` may be 0 (then `values` and the output may be NULL). Like the image functions, each call
 * runs on the calling thread only.
 * ------------------------------------------------------------------------------------------- */

rnn_status rnn_classify_features(const rnn_model *model, const float *values, size_t values_len, size_t count,
                                 size_t steps, const size_t *lengths, float *out_logits, size_t out_len);
rnn_status rnn_classify_features_probabilities(const rnn_model *model, const float *values, size_t values_len,
                                               size_t count, size_t steps, const size_t *lengths,
                                               float *out_probabilities, size_t out_len);
rnn_status rnn_classify_features_classes(const rnn_model *model, const float *values, size_t values_len,
                                         size_t count, size_t steps, const size_t *lengths, int32_t *out_classes,
                                         size_t out_len);

/* ---------------------------------------------------------------------------------------------
 * Texts (1.1; RNN_INPUT_TOKENS models)
 *
 * Classifies `count` texts, texts[i] a NUL-terminated UTF-8 string, with the model's own text
 * pipeline (spec 6.2.1: the words-v1 tokenizer on the text's bytes, the model's vocabulary,
 * truncation to its max_length), one output row per text, in input order:
 *
 *   rnn_classify_texts                 `count x classes` floats: logits (a values model: values)
 *   rnn_classify_texts_probabilities   softmax of each row (logits models only)
 *   rnn_classify_texts_classes         the arg-max of each row, `count` int32 (logits models only)
 *
 * A text without words runs as an empty sequence (the output of the zero state). Per-step text
 * models (their row count depends on the tokenizer) are RNN_ERROR_UNSUPPORTED_MODEL in this version.
 *
 * Checks, in this order: model NULL (RNN_ERROR_NULL_ARGUMENT) or not live
 * (RNN_ERROR_INVALID_HANDLE); not a text model, a values model in the _probabilities / _classes
 * functions, or a per-step model (RNN_ERROR_UNSUPPORTED_MODEL); a size_t above SSIZE_MAX
 * (RNN_ERROR_INVALID_ARGUMENT); `texts` NULL although count is not 0, the output NULL although
 * out_len or count is not 0 (RNN_ERROR_NULL_ARGUMENT); out_len below the result
 * (RNN_ERROR_BUFFER_TOO_SMALL); results larger than the process can allocate
 * (RNN_ERROR_LIMIT_EXCEEDED); texts[i] NULL (RNN_ERROR_NULL_ARGUMENT, naming i). `count` may be 0.
 * Each call runs on the calling thread only.
 * ------------------------------------------------------------------------------------------- */

rnn_status rnn_classify_texts(const rnn_model *model, const char *const *texts, size_t count, float *out_logits,
                              size_t out_len);
rnn_status rnn_classify_texts_probabilities(const rnn_model *model, const char *const *texts, size_t count,
                                            float *out_probabilities, size_t out_len);
rnn_status rnn_classify_texts_classes(const rnn_model *model, const char *const *texts, size_t count,
                                      int32_t *out_classes, size_t out_len);

/* ---------------------------------------------------------------------------------------------
 * Streams (1.1; features and image-row models without a bidirectional layer)
 *
 * A stream runs `count` independent live sequences through a model (say one per sensor or
 * microphone) one time step at a time, carrying each one's recurrent state between calls. A step
 * reads one time step of every sequence (`count x width` values, sequence i's at i * width) and
 * writes the outputs after that step (`count x classes` floats): for a model that returns its last
 * state, what classifying the sequence so far as a whole gives; for a per-step model, that step's
 * row (spec 6.5). Results equal whole-sequence classification up to rounding (the products run on
 * fewer rows). Streams have no length limit: max_length bounds whole sequences only.
 *
 * State. Each sequence's state is rnn_stream_state_size floats: for each recurrent layer in order,
 * h (H values) and, for an LSTM, c (H values). Its layout is fixed by the model, so a state read
 * from one sequence may be written into any sequence of any stream of the same model (a stateless
 * server can keep it per client); the library cannot tell a state of another model of the same
 * size. A new, reset or restored sequence starts from the zero state or the state written.
 *
 * Handles. `rnn_stream *` handles are checked like model handles (freed, double free, forged:
 * RNN_ERROR_INVALID_HANDLE). A stream holds a reference to its model: rnn_model_free(model) while
 * streams of it exist is allowed, and the streams keep working until rnn_stream_free.
 *
 * Threads. A stream has state, so its calls are serialized by a lock inside it: threads may share
 * one stream (each call is atomic: a step advances every sequence once, and concurrent steps are
 * applied one after the other in some order); for parallel work give each thread its own stream.
 * rnn_stream_free while other threads use the stream: as for models, their calls finish normally.
 *
 * Every stream function checks the stream handle first (NULL: RNN_ERROR_NULL_ARGUMENT; not live:
 * RNN_ERROR_INVALID_HANDLE); a sequence `index` of count or more is RNN_ERROR_INVALID_ARGUMENT.
 * A failed call leaves the stream's state unchanged.
 * ------------------------------------------------------------------------------------------- */

/* Live sequences through a model; opaque: only pointers to it exist. */
typedef struct rnn_stream rnn_stream;

/* Opens `count` (1 ..= 4096) sequences, each at the zero state. Checks, in order: model (NULL,
 * not live), out_stream NULL (RNN_ERROR_NULL_ARGUMENT), count outside 1 ..= 4096
 * (RNN_ERROR_INVALID_ARGUMENT), more memory than the process can allocate
 * (RNN_ERROR_LIMIT_EXCEEDED), a model that cannot stream (a text model, a bidirectional or pool layer:
 * RNN_ERROR_UNSUPPORTED_MODEL, see rnn_model_can_stream). On success *out_stream receives a new
 * handle that the caller releases with rnn_stream_free; on failure it receives NULL (when
 * out_stream is not NULL). */
rnn_status rnn_stream_create(const rnn_model *model, size_t count, rnn_stream **out_stream);

/* Releases a stream (and its reference to the model). NULL is accepted and does nothing (RNN_OK);
 * a stream that was already freed gives RNN_ERROR_INVALID_HANDLE instead of a double free. */
rnn_status rnn_stream_free(rnn_stream *stream);

/* Features models: steps every sequence once with `values`, `count x width` floats (source values;
 * the model's standardization is applied here), and writes the outputs after the step to
 * `out_outputs`, `count x classes` floats. Checks, in order: the stream; an image-row model
 * (RNN_ERROR_UNSUPPORTED_MODEL: use rnn_stream_step_u8); a size_t above SSIZE_MAX
 * (RNN_ERROR_INVALID_ARGUMENT); values or out_outputs NULL (RNN_ERROR_NULL_ARGUMENT); values_len
 * other than count x width (RNN_ERROR_INPUT_SIZE); out_len below count x classes
 * (RNN_ERROR_BUFFER_TOO_SMALL); a NaN or infinite value (RNN_ERROR_INVALID_ARGUMENT, naming the
 * sequence and feature). */
rnn_status rnn_stream_step(rnn_stream *stream, const float *values, size_t values_len, float *out_outputs,
                           size_t out_len);

/* Image-row models: the same with one row of raw u8 pixels per sequence (`count x width`), which
 * the model normalizes (rnn_model_input_normalization); a features model gives
 * RNN_ERROR_UNSUPPORTED_MODEL (use rnn_stream_step). Feeding an image's `height` rows gives, after
 * the last, the image's logits. */
rnn_status rnn_stream_step_u8(rnn_stream *stream, const uint8_t *pixels, size_t pixels_len, float *out_outputs,
                              size_t out_len);

/* Starts sequence `index` over from the zero state. */
rnn_status rnn_stream_reset(rnn_stream *stream, size_t index);

/* Starts every sequence of the stream over from the zero state. */
rnn_status rnn_stream_reset_all(rnn_stream *stream);

/* The number of floats in one sequence's state (the same for every stream of the model). */
rnn_status rnn_stream_state_size(const rnn_stream *stream, size_t *out_size);

/* Copies sequence `index`'s state to `out_state`. Checks, in order: the stream, index, out_state
 * NULL (RNN_ERROR_NULL_ARGUMENT), state_len below the state size (RNN_ERROR_BUFFER_TOO_SMALL). */
rnn_status rnn_stream_get_state(const rnn_stream *stream, size_t index, float *out_state, size_t state_len);

/* Replaces sequence `index`'s state with `state` (from rnn_stream_get_state). Checks, in order: the
 * stream, index, state NULL (RNN_ERROR_NULL_ARGUMENT), state_len other than the state size
 * (RNN_ERROR_INPUT_SIZE), a NaN or infinite value (RNN_ERROR_INVALID_ARGUMENT). */
rnn_status rnn_stream_set_state(rnn_stream *stream, size_t index, const float *state, size_t state_len);

#ifdef __cplusplus
}
#endif

#endif /* RNN_RUNTIME_H */
