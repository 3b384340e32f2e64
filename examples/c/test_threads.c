/*
 * test_threads -- several pthreads classifying with one shared model give the results of one thread.
 *
 *   test_threads MODEL.rnnm [IMAGES.idx[.gz]] [THREADS]
 *
 * Phase 1: one thread computes the logits of every batch (the reference). Phase 2: THREADS threads
 * (default 8) each classify every batch, starting at different batches, with the same handle, and
 * compare their logits bitwise with the reference. Phase 3: the main thread frees the handle while
 * the workers keep classifying; each call must either give the reference logits or fail cleanly
 * with RNN_ERROR_INVALID_HANDLE, never crash. Without an images file, random pixels are used.
 *
 * Streams (C API 1.1; skipped for a model that cannot stream). Phase 4: every thread feeds its own
 * stream the rows of BATCH images (one rnn_stream_step_u8 per row) and must reproduce, bit for bit,
 * what the same stream gives on one thread, and the batch's logits up to rounding; meanwhile all
 * threads step one shared stream with the same rows, whose state must then equal that of as many
 * steps on one thread (calls on a stream are serialized; with equal steps every order gives the
 * same state). The model is freed before the threads start: the streams keep it alive. Phase 5:
 * the shared stream is freed while the threads step it: each call completes or fails with
 * RNN_ERROR_INVALID_HANDLE.
 * Built with clang -fsanitize=thread by examples/run.sh when TSAN=1.
 */
#include "idx.h"
#include "rnn_runtime.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 50, MAX_THREADS = 64 };

typedef struct shared_state {
    rnn_model *model;
    const uint8_t *pixels;
    size_t pixels_per_image, classes, batches;
    const float *reference;   /* batches x BATCH x classes */
    int phase3;               /* keep going until the handle is freed */
} shared_state;

typedef struct worker {
    pthread_t thread;
    int index;
    const shared_state *shared;
    size_t mismatches, failures, invalid_handles, calls;
} worker;

static void *run_worker(void *argument) {
    worker *w = argument;
    const shared_state *s = w->shared;
    float *logits = malloc(BATCH * s->classes * sizeof *logits);
    size_t rounds = s->phase3 ? 1000000 : 1;
    for (size_t round = 0; round < rounds; round++) {
        for (size_t k = 0; k < s->batches; k++) {
            size_t b = (k + (size_t)w->index * 7) % s->batches; /* threads start at different batches */
            rnn_status status = rnn_classify_u8(s->model, s->pixels + b * BATCH * s->pixels_per_image,
                                                BATCH * s->pixels_per_image, BATCH, logits, BATCH * s->classes);
            w->calls++;
            if (status == RNN_ERROR_INVALID_HANDLE && s->phase3) {
                w->invalid_handles++;
                free(logits);
                return NULL;  /* the handle was freed: every later call fails the same way */
            }
            if (status != RNN_OK) {
                w->failures++;
                fprintf(stderr, "thread %d: %s: %s\n", w->index, rnn_status_name(status), rnn_last_error_message());
                continue;
            }
            if (memcmp(logits, s->reference + b * BATCH * s->classes, BATCH * s->classes * sizeof *logits) != 0) {
                w->mismatches++;
            }
        }
    }
    free(logits);
    return NULL;
}

/* ---- Streams (phases 4 and 5) ------------------------------------------------------------------ */

typedef struct stream_state {
    rnn_stream *shared;          /* two sequences, stepped by every thread */
    const uint8_t *shared_rows;  /* the two rows every shared step reads */
    const uint8_t *pixels;       /* images; thread t streams batch t % batches */
    size_t height, width, classes, batches;
    const float *reference;      /* the single-thread stream outputs of each batch: batches x BATCH x classes */
    int phase5;                  /* step the shared stream until it is freed */
} stream_state;

typedef struct stream_worker {
    pthread_t thread;
    int index;
    rnn_stream *own;             /* BATCH sequences, this thread's */
    const stream_state *shared;
    size_t mismatches, failures, invalid_handles, calls;
} stream_worker;

/* Steps `stream` (BATCH sequences) with row `r` of batch `b`'s images; outputs to `out`. */
static rnn_status stream_row(rnn_stream *stream, const stream_state *s, size_t b, size_t r, uint8_t *rows, float *out) {
    for (size_t i = 0; i < BATCH; i++) {
        memcpy(rows + i * s->width, s->pixels + ((b * BATCH + i) * s->height + r) * s->width, s->width);
    }
    return rnn_stream_step_u8(stream, rows, BATCH * s->width, out, BATCH * s->classes);
}

static void *run_stream_worker(void *argument) {
    stream_worker *w = argument;
    const stream_state *s = w->shared;
    float *out = malloc(BATCH * s->classes * sizeof *out), *shared_out = malloc(2 * s->classes * sizeof *shared_out);
    uint8_t *rows = malloc(BATCH * s->width);
    if (s->phase5) {
        for (size_t k = 0; k < 10000000; k++) {
            rnn_status status = rnn_stream_step_u8(s->shared, s->shared_rows, 2 * s->width, shared_out, 2 * s->classes);
            w->calls++;
            if (status == RNN_ERROR_INVALID_HANDLE) {
                w->invalid_handles++;
                break;
            }
            if (status != RNN_OK) w->failures++;
        }
    } else {
        /* Row by row through this thread's stream, with a step of the shared stream after each row. */
        size_t b = (size_t)w->index % s->batches;
        rnn_status status = rnn_stream_reset_all(w->own);
        for (size_t r = 0; status == RNN_OK && r < s->height; r++) {
            status = stream_row(w->own, s, b, r, rows, out);
            if (rnn_stream_step_u8(s->shared, s->shared_rows, 2 * s->width, shared_out, 2 * s->classes) != RNN_OK) {
                w->failures++;
            }
            w->calls += 2;
        }
        if (status != RNN_OK) {
            w->failures++;
            fprintf(stderr, "stream thread %d: %s\n", w->index, rnn_last_error_message());
        } else if (memcmp(out, s->reference + b * BATCH * s->classes, BATCH * s->classes * sizeof *out) != 0) {
            w->mismatches++;
        }
    }
    free(out);
    free(shared_out);
    free(rows);
    return NULL;
}

/* Phases 4 and 5; returns 1 when they passed (or were skipped). `logits` are phase 1's. */
static int run_stream_phases(const char *path, const uint8_t *pixels, size_t batches, const float *logits, int threads) {
    rnn_model *model;
    if (rnn_model_load(path, &model) != RNN_OK) return 0;
    int can_stream = 0;
    rnn_model_can_stream(model, &can_stream);
    if (!can_stream) {
        printf("test_threads: streams: skipped (the model cannot stream)\n");
        rnn_model_free(model);
        return 1;
    }
    stream_state s = {.pixels = pixels, .batches = batches};
    rnn_model_input_shape(model, &s.height, &s.width);
    rnn_model_class_count(model, &s.classes);
    uint8_t *rows = malloc(BATCH * s.width), *pair = malloc(2 * s.width);
    float *reference = malloc(batches * BATCH * s.classes * sizeof *reference);
    float *out = malloc(BATCH * s.classes * sizeof *out);
    /* The shared stream's step: the middle row of images 0 and 1. */
    memcpy(pair, pixels + (s.height / 2) * s.width, s.width);
    memcpy(pair + s.width, pixels + (s.height + s.height / 2) * s.width, s.width);
    s.shared_rows = pair;

    /* The references on this thread: each batch streamed row by row (close to the batch's logits),
     * and the shared stream's steps applied one after the other. */
    rnn_stream *single = NULL, *sequential = NULL;
    int ok = rnn_stream_create(model, BATCH, &single) == RNN_OK && rnn_stream_create(model, 2, &sequential) == RNN_OK &&
             rnn_stream_create(model, 2, &s.shared) == RNN_OK;
    double worst = 0;
    for (size_t b = 0; ok && b < batches; b++) {
        float *expected = reference + b * BATCH * s.classes;
        ok = rnn_stream_reset_all(single) == RNN_OK;
        for (size_t r = 0; ok && r < s.height; r++) ok = stream_row(single, &s, b, r, rows, expected) == RNN_OK;
        for (size_t k = 0; ok && k < BATCH * s.classes; k++) {
            double error = fabs((double)expected[k] - (double)logits[b * BATCH * s.classes + k]);
            if (error > worst) worst = error;
        }
    }
    s.reference = reference;
    for (size_t k = 0; ok && k < (size_t)threads * s.height; k++) {
        ok = rnn_stream_step_u8(sequential, pair, 2 * s.width, out, 2 * s.classes) == RNN_OK;
    }
    if (!ok || worst > 1e-4) {
        fprintf(stderr, "test_threads: streams: %s (max |stream - batch| %.3g)\n", rnn_last_error_message(), worst);
        return 0;
    }

    /* Phase 4: own streams and one shared stream; the model handle is freed first. */
    stream_worker workers[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        workers[t] = (stream_worker){.index = t, .shared = &s};
        ok = ok && rnn_stream_create(model, BATCH, &workers[t].own) == RNN_OK;
    }
    ok = ok && rnn_model_free(model) == RNN_OK;
    for (int t = 0; t < threads; t++) pthread_create(&workers[t].thread, NULL, run_stream_worker, &workers[t]);
    size_t mismatches = 0, failures = 0, calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        mismatches += workers[t].mismatches;
        failures += workers[t].failures;
        calls += workers[t].calls;
        ok = ok && rnn_stream_free(workers[t].own) == RNN_OK;
    }
    size_t state_size = 0;
    rnn_stream_state_size(s.shared, &state_size);
    float *a = malloc(state_size * sizeof *a), *b = malloc(state_size * sizeof *b);
    int same_state = 1;
    for (size_t i = 0; i < 2; i++) {
        same_state = same_state && rnn_stream_get_state(s.shared, i, a, state_size) == RNN_OK &&
                     rnn_stream_get_state(sequential, i, b, state_size) == RNN_OK && memcmp(a, b, state_size * sizeof *a) == 0;
    }
    printf("test_threads: streams: %d threads, each its own stream of %d images row by row (max |stream - batch| "
           "%.3g) and %zu steps of one shared stream: %zu calls, %zu mismatches, %zu failures, shared state %s\n",
           threads, BATCH, worst, s.height, calls, mismatches, failures, same_state ? "as sequential" : "DIFFERS");
    ok = ok && mismatches == 0 && failures == 0 && same_state;

    /* Phase 5: free the shared stream while the threads step it. */
    s.phase5 = 1;
    for (int t = 0; t < threads; t++) {
        workers[t] = (stream_worker){.index = t, .shared = &s};
        pthread_create(&workers[t].thread, NULL, run_stream_worker, &workers[t]);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    ok = ok && rnn_stream_free(s.shared) == RNN_OK;
    size_t stopped = 0;
    failures = calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        failures += workers[t].failures;
        calls += workers[t].calls;
        stopped += workers[t].invalid_handles;
    }
    printf("test_threads: stream freed while in use: %zu calls, %zu failures, %zu/%d threads stopped by "
           "RNN_ERROR_INVALID_HANDLE\n", calls, failures, stopped, threads);
    ok = ok && failures == 0 && stopped == (size_t)threads;

    rnn_stream_free(single);
    rnn_stream_free(sequential);
    free(a);
    free(b);
    free(rows);
    free(pair);
    free(reference);
    free(out);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: test_threads MODEL.rnnm [IMAGES.idx[.gz]] [THREADS]\n");
        return 64;
    }
    int threads = argc == 4 ? atoi(argv[3]) : 8;
    if (threads < 1 || threads > MAX_THREADS) threads = 8;

    shared_state s = {0};
    rnn_status status = rnn_model_load(argv[1], &s.model);
    if (status != RNN_OK) {
        fprintf(stderr, "test_threads: %s\n", rnn_last_error_message());
        return 1;
    }
    size_t height, width;
    rnn_model_input_shape(s.model, &height, &width);
    rnn_model_class_count(s.model, &s.classes);
    s.pixels_per_image = height * width;

    idx_file images = {0};
    uint8_t *pixels;
    if (argc >= 3 && strcmp(argv[2], "-") != 0) {
        if (idx_read(argv[2], (size_t)1 << 30, &images) != 0) return 1;
        if (images.item_size != s.pixels_per_image) {
            fprintf(stderr, "test_threads: image size differs from the model's\n");
            return 1;
        }
        s.batches = images.count / BATCH < 40 ? images.count / BATCH : 40;  /* at most 2,000 images */
        pixels = images.data;
    } else {
        s.batches = 40;
        pixels = malloc(s.batches * BATCH * s.pixels_per_image);
        srand(1);
        for (size_t i = 0; i < s.batches * BATCH * s.pixels_per_image; i++) pixels[i] = (uint8_t)(rand() & 0xFF);
    }
    s.pixels = pixels;

    /* Phase 1: the reference, on this thread. */
    float *reference = malloc(s.batches * BATCH * s.classes * sizeof *reference);
    for (size_t b = 0; b < s.batches; b++) {
        status = rnn_classify_u8(s.model, pixels + b * BATCH * s.pixels_per_image, BATCH * s.pixels_per_image, BATCH,
                                 reference + b * BATCH * s.classes, BATCH * s.classes);
        if (status != RNN_OK) {
            fprintf(stderr, "test_threads: %s\n", rnn_last_error_message());
            return 1;
        }
    }
    s.reference = reference;

    /* Phase 2: every thread, every batch, one shared handle. */
    worker workers[MAX_THREADS];
    size_t mismatches = 0, failures = 0, calls = 0;
    for (int t = 0; t < threads; t++) {
        workers[t] = (worker){.index = t, .shared = &s};
        pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        mismatches += workers[t].mismatches;
        failures += workers[t].failures;
        calls += workers[t].calls;
    }
    printf("test_threads: %d threads x %zu batches of %d images: %zu calls, %zu mismatches, %zu failures\n", threads,
           s.batches, BATCH, calls, mismatches, failures);
    int ok = mismatches == 0 && failures == 0 && calls == (size_t)threads * s.batches;

    /* Phase 3: free the handle while the workers classify with it. */
    s.phase3 = 1;
    for (int t = 0; t < threads; t++) {
        workers[t] = (worker){.index = t, .shared = &s};
        pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    status = rnn_model_free(s.model);
    size_t stopped = 0;
    mismatches = failures = calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        mismatches += workers[t].mismatches;
        failures += workers[t].failures;
        calls += workers[t].calls;
        stopped += workers[t].invalid_handles;
    }
    printf("test_threads: freed while in use: %zu calls, %zu mismatches, %zu failures, %zu/%d threads stopped by "
           "RNN_ERROR_INVALID_HANDLE\n", calls, mismatches, failures, stopped, threads);
    ok = ok && status == RNN_OK && mismatches == 0 && failures == 0 && stopped == (size_t)threads;

    ok = run_stream_phases(argv[1], pixels, s.batches, reference, threads) && ok;

    free(reference);
    if (images.data) idx_free(&images); else free(pixels);
    printf("test_threads: %s\n", ok ? "passed" : "FAILED");
    return ok ? 0 : 1;
}
