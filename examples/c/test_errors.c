/*
 * test_errors -- every kind of bad input through the C API returns its status code and a message,
 * and never crashes the host.
 *
 *   test_errors MODEL.rnnm CORRUPT.rnnm [TEXT_MODEL.rnnm]
 *   test_errors --load FILE STATUS     (loads FILE from its path and from memory; both must give STATUS)
 *
 * MODEL is any valid image model; CORRUPT is a file that fails its checksum
 * (fixtures/corrupt/flipped-crc.rnnm); TEXT_MODEL, a text model (fixtures/models/text-tiny.rnnm),
 * adds the checks of a model of another kind (C API 1.1: it loads, and image functions refuse it).
 * The --load form is for examples/run.sh, which runs it under `ulimit -v` on the decompression bomb
 * of the corrupt corpus: a hostile file must give its status, never abort the host.
 * Prints one line per failed expectation and a summary; exit status 0 when all passed.
 */
#include "rnn_runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

/* Checks that `call` returned `expected` and, for a failure, left a non-empty message. */
static void expect_status(const char *what, rnn_status found, rnn_status expected) {
    checks++;
    const char *message = rnn_last_error_message();
    if (found != expected) {
        failures++;
        printf("FAIL %s: expected %s, found %s (%s)\n", what, rnn_status_name(expected), rnn_status_name(found), message);
    } else if ((expected != RNN_OK) != (message[0] != '\0')) {
        failures++;
        printf("FAIL %s: message '%s' after %s\n", what, message, rnn_status_name(found));
    } else if (getenv("VERBOSE")) {
        printf("ok   %-58s %-28s %s\n", what, rnn_status_name(found), message);
    }
}

static void expect_true(const char *what, int condition) {
    checks++;
    if (!condition) {
        failures++;
        printf("FAIL %s\n", what);
    }
}

#define EXPECT(call, code) expect_status(#call, (call), (code))

/* Reads a whole file into memory (test helper; sizes are small). */
static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(n > 0 ? (size_t)n : 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

/* A failure on one thread leaves another thread's message alone. */
static void *fail_on_other_thread(void *unused) {
    (void)unused;
    rnn_model_load(NULL, NULL);
    return (void *)(intptr_t)(strstr(rnn_last_error_message(), "out_model is NULL") != NULL);
}

/* `test_errors --load FILE STATUS`: one file, through both load functions. */
static int load_only(const char *path, rnn_status expected) {
    rnn_model *model = NULL;
    EXPECT(rnn_model_load(path, &model), expected);
    size_t size = 0;
    uint8_t *bytes = slurp(path, &size);
    expect_true("read the file", bytes != NULL);
    EXPECT(rnn_model_load_from_memory(bytes, size, &model), expected);
    printf("%s: %s (%s)\n", path, rnn_status_name(expected), rnn_last_error_message());
    free(bytes);
    rnn_model_free(model);
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--load") == 0) return load_only(argv[2], (rnn_status)atoi(argv[3]));
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: test_errors MODEL.rnnm CORRUPT.rnnm [TEXT_MODEL.rnnm]\n");
        return 64;
    }
    const char *model_path = argv[1], *corrupt_path = argv[2], *text_path = argc == 4 ? argv[3] : NULL;
    rnn_model *model = NULL, *other = NULL;

    /* Version and names. */
    expect_true("rnn_runtime_version() == RNN_RUNTIME_VERSION_NUMBER", rnn_runtime_version() == RNN_RUNTIME_VERSION_NUMBER);
    expect_true("version string", strcmp(rnn_runtime_version_string(), RNN_RUNTIME_VERSION_STRING) == 0);
    expect_true("status name", strcmp(rnn_status_name(RNN_ERROR_BUFFER_TOO_SMALL), "RNN_ERROR_BUFFER_TOO_SMALL") == 0);
    expect_true("unknown status name", strcmp(rnn_status_name((rnn_status)12345), "RNN_ERROR_UNKNOWN") == 0);
    expect_true("no message before any call", rnn_last_error_message()[0] == '\0');

    /* Loading. */
    EXPECT(rnn_model_load(model_path, NULL), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_model_load(NULL, &model), RNN_ERROR_NULL_ARGUMENT);
    expect_true("out_model is NULL after a failed load", model == NULL);
    EXPECT(rnn_model_load("/nonexistent/model.rnnm", &model), RNN_ERROR_IO);
    EXPECT(rnn_model_load("\xff\xfe.rnnm", &model), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_model_load(corrupt_path, &model), RNN_ERROR_CORRUPTED);
    EXPECT(rnn_model_load(argv[0], &model), RNN_ERROR_NOT_A_MODEL); /* this executable */
    EXPECT(rnn_model_load_from_memory(NULL, 100, &model), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_model_load_from_memory(NULL, 0, &model), RNN_ERROR_TRUNCATED);
    EXPECT(rnn_model_load_from_memory("\x89RNNM\r\n", 7, &model), RNN_ERROR_TRUNCATED);
    EXPECT(rnn_model_load_from_memory("hello, world, not a model at all, not even close, no...........", 64, &model),
           RNN_ERROR_NOT_A_MODEL);
    size_t size = 0;
    uint8_t *bytes = slurp(model_path, &size);
    expect_true("read the model file", bytes != NULL);
    EXPECT(rnn_model_load_from_memory(bytes, size - 1, &model), RNN_ERROR_TRUNCATED);
    /* A length far beyond the buffer: refused against the 4 GiB file-size cap before anything is read. */
    EXPECT(rnn_model_load_from_memory(bytes, (size_t)1 << 40, &model), RNN_ERROR_LIMIT_EXCEEDED);
    bytes[size / 2] ^= 0x40;
    EXPECT(rnn_model_load_from_memory(bytes, size, &model), RNN_ERROR_CORRUPTED);
    bytes[size / 2] ^= 0x40;
    EXPECT(rnn_model_load_from_memory(bytes, size, &other), RNN_OK);
    memset(bytes, 0xAB, size); /* the library kept its own copy */
    free(bytes);
    EXPECT(rnn_model_load(model_path, &model), RNN_OK);
    expect_true("message cleared by a success", rnn_last_error_message()[0] == '\0');

    /* Queries. */
    size_t height = 0, width = 0, classes = 0, required = 0;
    float scale = 0, offset = 0;
    EXPECT(rnn_model_input_shape(model, &height, &width), RNN_OK);
    EXPECT(rnn_model_class_count(model, &classes), RNN_OK);
    EXPECT(rnn_model_input_normalization(model, &scale, &offset), RNN_OK);
    expect_true("shape and classes are positive", height > 0 && width > 0 && classes >= 2 && scale > 0);
    EXPECT(rnn_model_input_shape(NULL, &height, &width), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_model_input_shape(model, NULL, &width), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_model_input_normalization(model, &scale, NULL), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_model_class_count(model, NULL), RNN_ERROR_NULL_ARGUMENT);
    char label[257];
    EXPECT(rnn_model_label(model, 0, NULL, 0, &required), RNN_ERROR_BUFFER_TOO_SMALL);
    expect_true("required size reported for a NULL buffer", required >= 2);
    EXPECT(rnn_model_label(model, 0, label, required - 1, &required), RNN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(rnn_model_label(model, 0, label, required, NULL), RNN_OK);
    expect_true("label length matches required", strlen(label) + 1 == required);
    EXPECT(rnn_model_label(model, classes, label, sizeof label, NULL), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_model_label(model, SIZE_MAX, label, sizeof label, NULL), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_model_label(model, 0, NULL, sizeof label, NULL), RNN_ERROR_NULL_ARGUMENT);

    /* Classification arguments. */
    size_t pixels_len = 2 * height * width;
    uint8_t *pixels = calloc(pixels_len, 1);
    float *features = calloc(pixels_len, sizeof *features);
    float *logits = malloc(2 * classes * sizeof *logits);
    int32_t predicted[2] = {-7, -7};
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, 2, logits, 2 * classes), RNN_OK);
    EXPECT(rnn_classify_u8(NULL, pixels, pixels_len, 2, logits, 2 * classes), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_classify_u8(model, NULL, pixels_len, 2, logits, 2 * classes), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, 2, NULL, 2 * classes), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len - 1, 2, logits, 2 * classes), RNN_ERROR_INPUT_SIZE);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, 1, logits, 2 * classes), RNN_ERROR_INPUT_SIZE);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, 2, logits, 2 * classes - 1), RNN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, SIZE_MAX, logits, 2 * classes), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_classify_u8(model, pixels, pixels_len, SIZE_MAX / 8, logits, 2 * classes), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_classify_u8(model, NULL, 0, 0, NULL, 0), RNN_OK);
    /* A count whose results no process can hold: refused before the runtime allocates them. */
    size_t huge = (size_t)1 << 45;
    EXPECT(rnn_classify_u8_classes(model, pixels, huge * height * width, huge, predicted, huge), RNN_ERROR_LIMIT_EXCEEDED);
    EXPECT(rnn_classify_u8_classes(model, pixels, pixels_len, 2, predicted, 1), RNN_ERROR_BUFFER_TOO_SMALL);
    expect_true("a too-small buffer is left untouched", predicted[0] == -7 && predicted[1] == -7);
    EXPECT(rnn_classify_u8_classes(model, pixels, pixels_len, 2, predicted, 2), RNN_OK);
    expect_true("classes are in range", predicted[0] >= 0 && (size_t)predicted[0] < classes);
    EXPECT(rnn_classify_u8_probabilities(model, pixels, pixels_len, 2, logits, 2 * classes), RNN_OK);
    double sum = 0;
    for (size_t c = 0; c < classes; c++) sum += logits[c];
    expect_true("probabilities sum to 1", fabs(sum - 1.0) < 1e-5);
    EXPECT(rnn_classify_f32(model, features, pixels_len, 2, logits, 2 * classes), RNN_OK);
    features[height * width + 3] = NAN;
    EXPECT(rnn_classify_f32(model, features, pixels_len, 2, logits, 2 * classes), RNN_ERROR_INVALID_ARGUMENT);
    features[height * width + 3] = INFINITY;
    EXPECT(rnn_classify_f32_classes(model, features, pixels_len, 2, predicted, 2), RNN_ERROR_INVALID_ARGUMENT);
    features[height * width + 3] = 0;
    EXPECT(rnn_classify_f32_probabilities(model, features, pixels_len + 1, 2, logits, 2 * classes), RNN_ERROR_INPUT_SIZE);

    /* Handles that are not live models. */
    rnn_model *forged = (rnn_model *)(uintptr_t)0x1234;
    EXPECT(rnn_classify_u8(forged, pixels, pixels_len, 2, logits, 2 * classes), RNN_ERROR_INVALID_HANDLE);
    EXPECT(rnn_model_class_count((rnn_model *)pixels, &classes), RNN_ERROR_INVALID_HANDLE);
    EXPECT(rnn_model_free(forged), RNN_ERROR_INVALID_HANDLE);
    EXPECT(rnn_model_free(NULL), RNN_OK);
    EXPECT(rnn_model_free(other), RNN_OK);
    EXPECT(rnn_classify_u8(other, pixels, pixels_len, 2, logits, 2 * classes), RNN_ERROR_INVALID_HANDLE);
    expect_true("a freed handle is named as freed", strstr(rnn_last_error_message(), "already freed") != NULL);
    EXPECT(rnn_model_label(other, 0, label, sizeof label, NULL), RNN_ERROR_INVALID_HANDLE);
    EXPECT(rnn_model_free(other), RNN_ERROR_INVALID_HANDLE); /* double free */
    /* A new model never answers to an old handle, even if the allocator reuses memory. */
    EXPECT(rnn_model_load(model_path, &other), RNN_OK);
    EXPECT(rnn_model_free(other), RNN_OK);
    EXPECT(rnn_model_class_count(other, &classes), RNN_ERROR_INVALID_HANDLE);

    /* The last error is per thread. */
    EXPECT(rnn_model_free(forged), RNN_ERROR_INVALID_HANDLE);
    pthread_t thread;
    void *other_saw_own_message = NULL;
    pthread_create(&thread, NULL, fail_on_other_thread, NULL);
    pthread_join(thread, &other_saw_own_message);
    expect_true("the other thread saw its own message", other_saw_own_message != NULL);
    expect_true("this thread's message is unchanged", strstr(rnn_last_error_message(), "did not come from") != NULL);

    /* Streams (1.1) of the image model: one row of pixels per step. */
    rnn_stream *stream = NULL;
    EXPECT(rnn_stream_create(model, 0, &stream), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_stream_create(model, 2, NULL), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_stream_create(model, 2, &stream), RNN_OK);
    EXPECT(rnn_stream_step_u8(stream, pixels, 2 * width, logits, 2 * classes), RNN_OK);
    EXPECT(rnn_stream_step_u8(stream, pixels, 2 * width - 1, logits, 2 * classes), RNN_ERROR_INPUT_SIZE);
    EXPECT(rnn_stream_step_u8(stream, pixels, 2 * width, logits, 2 * classes - 1), RNN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(rnn_stream_step_u8(stream, NULL, 2 * width, logits, 2 * classes), RNN_ERROR_NULL_ARGUMENT);
    EXPECT(rnn_stream_step(stream, features, 2 * width, logits, 2 * classes), RNN_ERROR_UNSUPPORTED_MODEL);
    EXPECT(rnn_stream_reset(stream, 2), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_stream_reset(stream, SIZE_MAX), RNN_ERROR_INVALID_ARGUMENT);
    EXPECT(rnn_stream_get_state(stream, 0, features, 0), RNN_ERROR_BUFFER_TOO_SMALL);
    EXPECT(rnn_classify_u8((rnn_model *)stream, pixels, pixels_len, 2, logits, 2 * classes), RNN_ERROR_INVALID_HANDLE);
    expect_true("a stream handle is named as one", strstr(rnn_last_error_message(), "is a stream handle") != NULL);
    EXPECT(rnn_stream_free(stream), RNN_OK);
    EXPECT(rnn_stream_step_u8(stream, pixels, 2 * width, logits, 2 * classes), RNN_ERROR_INVALID_HANDLE);
    EXPECT(rnn_stream_free(stream), RNN_ERROR_INVALID_HANDLE); /* double free */
    EXPECT(rnn_stream_free(NULL), RNN_OK);

    /* A model of another kind (1.1): a text model loads, and functions for images refuse it. */
    if (text_path) {
        rnn_model *text = NULL;
        rnn_input_kind kind = RNN_INPUT_IMAGE_ROWS;
        EXPECT(rnn_model_load(text_path, &text), RNN_OK);
        EXPECT(rnn_model_input_kind(text, &kind), RNN_OK);
        expect_true("the text model reads tokens", kind == RNN_INPUT_TOKENS);
        EXPECT(rnn_classify_u8(text, pixels, pixels_len, 2, logits, 2 * classes), RNN_ERROR_UNSUPPORTED_MODEL);
        expect_true("the message names the text functions", strstr(rnn_last_error_message(), "rnn_classify_texts") != NULL);
        EXPECT(rnn_classify_f32_classes(text, features, pixels_len, 2, predicted, 2), RNN_ERROR_UNSUPPORTED_MODEL);
        EXPECT(rnn_stream_create(text, 1, &stream), RNN_ERROR_UNSUPPORTED_MODEL);
        expect_true("no stream after a failed create", stream == NULL);
        size_t text_classes = 0;
        EXPECT(rnn_model_class_count(text, &text_classes), RNN_OK);
        const char *texts[2] = {"A fine film, with a <br /> line break.", NULL};
        float *text_logits = malloc(2 * text_classes * sizeof *text_logits);
        int32_t text_predicted[2] = {-7, -7};
        EXPECT(rnn_classify_texts(text, texts, 1, text_logits, text_classes), RNN_OK);
        EXPECT(rnn_classify_texts_classes(text, texts, 1, text_predicted, 1), RNN_OK);
        expect_true("the text's class is in range", text_predicted[0] >= 0 && (size_t)text_predicted[0] < text_classes);
        EXPECT(rnn_classify_texts(text, texts, 2, text_logits, 2 * text_classes), RNN_ERROR_NULL_ARGUMENT);
        EXPECT(rnn_classify_texts(text, texts, 1, text_logits, text_classes - 1), RNN_ERROR_BUFFER_TOO_SMALL);
        EXPECT(rnn_classify_features(text, features, 1, 1, 1, NULL, text_logits, text_classes), RNN_ERROR_UNSUPPORTED_MODEL);
        EXPECT(rnn_model_free(text), RNN_OK);
        free(text_logits);
    }

    EXPECT(rnn_model_free(model), RNN_OK);
    free(pixels);
    free(features);
    free(logits);
    printf("test_errors: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
