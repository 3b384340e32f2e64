/*
 * stream_features -- live streams of feature vectors through the C API 1.1 of librnnruntime.
 *
 *   stream_features [--quiet] MODEL.rnnm [STEPS]
 *
 * MODEL is a `features` model (spec/FORMAT.md section 6.2.2) without a bidirectional layer, e.g. one
 * written by examples/python/make_feature_model.py. The program
 *
 *   1. opens a stream of two sequences (two "sensors") and feeds them STEPS time steps (default
 *      min(12, max_length)) of made-up readings, one rnn_stream_step per time step, printing the
 *      outputs of sensor 0 after each step (the predicted class too, for a logits model);
 *   2. checks every output against rnn_classify_features, which classifies all prefixes of both
 *      sequences in one padded call (lengths 1 ... STEPS): after step t a stream gives what the
 *      prefix of length t + 1 gives as a whole (its last row, for a per-step model);
 *   3. saves both sensors' states halfway (rnn_stream_get_state), frees the model (the stream keeps
 *      it alive), starts the stream over, restores the states (rnn_stream_set_state) and replays the
 *      second half: the outputs must be identical, bit for bit.
 *
 * Exit status: 0 when every check passed, 1 on a mismatch or an error, 64 on a usage error.
 */
#include "rnn_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SENSORS = 2 };

static int fail(const char *what, rnn_status status) {
    fprintf(stderr, "stream_features: %s failed: %s: %s\n", what, rnn_status_name(status), rnn_last_error_message());
    return 1;
}

#define CHECK(call)                                         \
    do {                                                    \
        rnn_status status_ = (call);                        \
        if (status_ != RNN_OK) return fail(#call, status_); \
    } while (0)

/* A made-up reading: feature j of sensor s at step t (a slow wave per feature, some noise). */
static float reading(size_t s, size_t t, size_t j) {
    unsigned noise = (unsigned)(s * 7919u + t * 104729u + j * 1299709u) * 2654435761u;
    return (float)(sin(0.4 * (double)t + (double)j + 2.0 * (double)s) * 2.0 + (double)(noise >> 24) / 256.0 - 0.5);
}

/* The index of the largest of n values (the lowest on ties), as the library's arg-max. */
static size_t argmax(const float *values, size_t n) {
    size_t best = 0;
    for (size_t k = 1; k < n; k++) {
        if (values[k] > values[best]) best = k;
    }
    return best;
}

int main(int argc, char **argv) {
    int quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
    if (argc - quiet < 2 || argc - quiet > 3) {
        fprintf(stderr, "usage: stream_features [--quiet] MODEL.rnnm [STEPS]\n");
        return 64;
    }
    const char *path = argv[1 + quiet];
    if (rnn_runtime_version() / 10000 != RNN_RUNTIME_VERSION_MAJOR || rnn_runtime_version() < RNN_RUNTIME_VERSION_NUMBER) {
        fprintf(stderr, "stream_features: library %s, header %s: streams need a 1.x library >= the header\n",
                rnn_runtime_version_string(), RNN_RUNTIME_VERSION_STRING);
        return 1;
    }

    rnn_model *model = NULL;
    CHECK(rnn_model_load(path, &model));
    rnn_input_kind kind;
    rnn_output_kind output;
    int per_step, can_stream;
    size_t width, max_length, outputs;
    CHECK(rnn_model_input_kind(model, &kind));
    if (kind != RNN_INPUT_FEATURES) {
        fprintf(stderr, "stream_features: '%s' does not read feature sequences (input kind %d)\n", path, (int)kind);
        return 1;
    }
    CHECK(rnn_model_feature_shape(model, &width, &max_length));
    CHECK(rnn_model_class_count(model, &outputs));
    CHECK(rnn_model_output_kind(model, &output));
    CHECK(rnn_model_outputs_per_step(model, &per_step));
    CHECK(rnn_model_can_stream(model, &can_stream));
    if (!can_stream) {
        fprintf(stderr, "stream_features: '%s' cannot stream (a bidirectional layer)\n", path);
        return 1;
    }
    size_t steps = argc - quiet == 3 ? (size_t)strtoul(argv[2 + quiet], NULL, 10) : 12;
    if (steps < 2) steps = 2;
    if (steps > max_length) steps = max_length;  /* rnn_classify_features takes at most max_length */
    printf("librnnruntime %s: %s: %zu features per step, %zu %s%s, %zu steps of %d sensors\n",
           rnn_runtime_version_string(), path, width, outputs, output == RNN_OUTPUT_LOGITS ? "classes" : "values",
           per_step ? " per step" : "", steps, SENSORS);

    /* The readings, stored as the padded array rnn_classify_features takes: [SENSORS, steps, width]. */
    float *readings = malloc(SENSORS * steps * width * sizeof *readings);
    float *streamed = malloc(steps * SENSORS * outputs * sizeof *streamed); /* [steps, SENSORS, outputs] */
    float *step = malloc(SENSORS * width * sizeof *step);
    if (!readings || !streamed || !step) return fprintf(stderr, "stream_features: out of memory\n"), 1;
    for (size_t s = 0; s < SENSORS; s++) {
        for (size_t t = 0; t < steps; t++) {
            for (size_t j = 0; j < width; j++) readings[(s * steps + t) * width + j] = reading(s, t, j);
        }
    }

    /* 1. Stream: one call per time step, both sensors at once; save the states halfway. */
    rnn_stream *stream = NULL;
    size_t state_size, half = steps / 2;
    CHECK(rnn_stream_create(model, SENSORS, &stream));
    CHECK(rnn_stream_state_size(stream, &state_size));
    float *saved = malloc(SENSORS * state_size * sizeof *saved);
    if (!saved) return fprintf(stderr, "stream_features: out of memory\n"), 1;
    for (size_t t = 0; t < steps; t++) {
        if (t == half) {
            for (size_t s = 0; s < SENSORS; s++) CHECK(rnn_stream_get_state(stream, s, saved + s * state_size, state_size));
        }
        for (size_t s = 0; s < SENSORS; s++) memcpy(step + s * width, readings + (s * steps + t) * width, width * sizeof *step);
        float *out = streamed + t * SENSORS * outputs;
        CHECK(rnn_stream_step(stream, step, SENSORS * width, out, SENSORS * outputs));
        if (!quiet) {
            printf("  step %2zu sensor 0:", t);
            for (size_t k = 0; k < outputs; k++) printf(" %9.5f", out[k]);
            if (output == RNN_OUTPUT_LOGITS) printf("  -> class %zu", argmax(out, outputs));
            printf("\n");
        }
    }

    /* 2. The same through rnn_classify_features: every prefix of both sequences in one padded call. */
    size_t count = SENSORS * steps, rows = 0;
    size_t *lengths = malloc(count * sizeof *lengths), *last_row = malloc(count * sizeof *last_row);
    float *prefixes = malloc(count * steps * width * sizeof *prefixes);
    if (!lengths || !last_row || !prefixes) return fprintf(stderr, "stream_features: out of memory\n"), 1;
    for (size_t s = 0; s < SENSORS; s++) {
        for (size_t t = 0; t < steps; t++) {
            size_t i = s * steps + t;
            memcpy(prefixes + i * steps * width, readings + s * steps * width, steps * width * sizeof *prefixes);
            lengths[i] = t + 1;  /* only the first t + 1 steps of the copy are read */
            rows += per_step ? t + 1 : 1;
            last_row[i] = rows - 1;
        }
    }
    float *whole = malloc(rows * outputs * sizeof *whole);
    if (!whole) return fprintf(stderr, "stream_features: out of memory\n"), 1;
    CHECK(rnn_classify_features(model, prefixes, count * steps * width, count, steps, lengths, whole, rows * outputs));
    double worst = 0;
    for (size_t s = 0; s < SENSORS; s++) {
        for (size_t t = 0; t < steps; t++) {
            const float *a = streamed + (t * SENSORS + s) * outputs, *b = whole + last_row[s * steps + t] * outputs;
            for (size_t k = 0; k < outputs; k++) {
                double error = fabs((double)a[k] - (double)b[k]);
                if (error > worst) worst = error;
            }
        }
    }
    /* The same kernels on fewer rows: equal up to the rounding of differently shaped products. */
    int agree = worst <= 1e-5;
    printf("stream vs rnn_classify_features of every prefix: max |difference| %.3g (%s)\n", worst, agree ? "ok" : "MISMATCH");

    /* 3. Free the model (the stream holds it), start over from the saved states, replay the rest. */
    CHECK(rnn_model_free(model));
    CHECK(rnn_stream_reset_all(stream));
    for (size_t s = 0; s < SENSORS; s++) CHECK(rnn_stream_set_state(stream, s, saved + s * state_size, state_size));
    float *replayed = malloc(SENSORS * outputs * sizeof *replayed);
    if (!replayed) return fprintf(stderr, "stream_features: out of memory\n"), 1;
    int identical = 1;
    for (size_t t = half; t < steps; t++) {
        for (size_t s = 0; s < SENSORS; s++) memcpy(step + s * width, readings + (s * steps + t) * width, width * sizeof *step);
        CHECK(rnn_stream_step(stream, step, SENSORS * width, replayed, SENSORS * outputs));
        identical = identical && memcmp(replayed, streamed + t * SENSORS * outputs, SENSORS * outputs * sizeof *replayed) == 0;
    }
    printf("saved %zu state values per sensor at step %zu, restored after rnn_model_free: replay %s\n", state_size, half,
           identical ? "identical" : "DIFFERS");
    CHECK(rnn_stream_free(stream));

    free(readings);
    free(streamed);
    free(step);
    free(saved);
    free(lengths);
    free(last_row);
    free(prefixes);
    free(whole);
    free(replayed);
    printf("stream_features: %s\n", agree && identical ? "passed" : "FAILED");
    return agree && identical ? 0 : 1;
}
