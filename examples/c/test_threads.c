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
 * Built with clang -fsanitize=thread by examples/run.sh when TSAN=1.
 */
#include "idx.h"
#include "rnn_runtime.h"

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

    free(reference);
    if (images.data) idx_free(&images); else free(pixels);
    printf("test_threads: %s\n", ok ? "passed" : "FAILED");
    return ok ? 0 : 1;
}
