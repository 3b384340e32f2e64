/*
 * rnn_runtime.h -- the stable C API of the RNN inference runtime (librnnruntime).
 *
 * Loads an `.rnnm` model file (spec/FORMAT.md) and classifies batches of images with it.
 * This header is the whole ABI: it is hand-written, C99, and names no Swift type. The library
 * behind it is written in Swift (Sources/RNNRuntimeC), and `@c @implementation` makes the Swift
 * compiler check every definition against the declarations below.
 *
 * Conventions (they hold for every function unless its comment says otherwise):
 *
 *  - Every function that can fail returns an `rnn_status`; `RNN_OK` (0) means success. On failure
 *    `rnn_last_error_message()` says what was expected and what was found, and no output buffer
 *    was written. Nothing ever aborts, throws or longjmps across this boundary because of bad input.
 *  - Handles are opaque (`rnn_model *`), created by `rnn_model_load*` and released by
 *    `rnn_model_free`. Handles are checked on every call: NULL gives RNN_ERROR_NULL_ARGUMENT, a
 *    handle that was freed or never came from this library gives RNN_ERROR_INVALID_HANDLE.
 *  - Every output buffer belongs to the caller and comes with its length in elements (not bytes).
 *    A buffer that is too short gives RNN_ERROR_BUFFER_TOO_SMALL and is left untouched.
 *  - Lengths are `size_t`; the library checks every product of lengths for overflow.
 *  - Thread safety: a loaded model is immutable. Any number of threads may call the query and
 *    classify functions on one shared model at the same time. `rnn_model_free` may be called while
 *    other threads still classify with the model: those calls finish normally and the memory is
 *    released when the last of them returns; later calls with the freed handle fail with
 *    RNN_ERROR_INVALID_HANDLE. The last error message is thread-local.
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
#define RNN_RUNTIME_VERSION_MINOR 0
#define RNN_RUNTIME_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, the form rnn_runtime_version() returns. */
#define RNN_RUNTIME_VERSION_NUMBER \
    (RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH)
#define RNN_RUNTIME_VERSION_STRING "1.0.0"

/* The version of the library loaded at run time, as MAJOR * 10000 + MINOR * 100 + PATCH. */
uint32_t rnn_runtime_version(void);

/* The same version as a static string such as "1.0.0"; never NULL, never to be freed. */
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
    RNN_ERROR_INVALID_ARGUMENT = 3,   /* a value out of range: label index, non-finite feature, sizes that overflow */
    RNN_ERROR_BUFFER_TOO_SMALL = 4,   /* an output buffer shorter than the result */
    RNN_ERROR_INPUT_SIZE = 5,         /* an input length that is not count x height x width */

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
    RNN_ERROR_UNSUPPORTED_MODEL = 20, /* a valid file whose network this API cannot run (e.g. a text
                                         model, input kind "tokens": this version classifies images) */
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
 * the caller releases with rnn_model_free; on failure it receives NULL. */
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

/* An image is `height` rows of `width` pixels (one row per LSTM time step), row-major. */
rnn_status rnn_model_input_shape(const rnn_model *model, size_t *out_height, size_t *out_width);

/* The model's input normalization (spec section 6.2): feature = (float)pixel * scale + offset,
 * computed in binary32. rnn_classify_u8* apply it; rnn_classify_f32* expect it already applied. */
rnn_status rnn_model_input_normalization(const rnn_model *model, float *out_scale, float *out_offset);

/* The number of classes: the length of each row of logits or probabilities. */
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

#ifdef __cplusplus
}
#endif

#endif /* RNN_RUNTIME_H */
