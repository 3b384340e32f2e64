/*
 * classify_idx -- classifies the images of an IDX file through the C API of librnnruntime.
 *
 *   classify_idx [--csv] [--batch N] MODEL.rnnm IMAGES.idx[.gz] [LABELS.idx[.gz]]
 *
 * Prints a summary (and the accuracy when a labels file is given); with --csv, prints one line
 * `index,class,label` per image on stdout instead (the first three columns of
 * `rnn-infer --format csv`) and the summary on stderr. Exit status: 0 ok, 1 error, 64 usage.
 */
#include "idx.h"
#include "rnn_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bounds what an IDX header may make us allocate: 1 GiB. */
#define MAX_IDX_BYTES ((size_t)1 << 30)

static int usage(void) {
    fprintf(stderr, "usage: classify_idx [--csv] [--batch N] MODEL.rnnm IMAGES.idx[.gz] [LABELS.idx[.gz]]\n");
    return 64;
}

/* Prints a label as an RFC 4180 field: quoted only when it contains a comma, quote or line break. */
static void print_csv_field(const char *text) {
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const char *p = text; *p; p++) {
        if (*p == '"') putchar('"');
        putchar(*p);
    }
    putchar('"');
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Prints the call's status and the library's message. */
static int fail(const char *what, rnn_status status) {
    fprintf(stderr, "classify_idx: %s failed: %s: %s\n", what, rnn_status_name(status), rnn_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    int csv = 0;
    size_t batch = 1000;
    int arg = 1;
    for (; arg < argc && argv[arg][0] == '-' && argv[arg][1] == '-'; arg++) {
        if (strcmp(argv[arg], "--csv") == 0) {
            csv = 1;
        } else if (strcmp(argv[arg], "--batch") == 0 && arg + 1 < argc) {
            char *end;
            long long n = strtoll(argv[++arg], &end, 10);
            if (*end || n < 1 || n > 1000000) return usage();
            batch = (size_t)n;
        } else {
            return usage();
        }
    }
    if (argc - arg < 2 || argc - arg > 3) return usage();
    const char *model_path = argv[arg], *images_path = argv[arg + 1];
    const char *labels_path = argc - arg == 3 ? argv[arg + 2] : NULL;
    FILE *summary = csv ? stderr : stdout;

    /* The header this program was compiled against must match the library it runs with. */
    if (rnn_runtime_version() / 10000 != RNN_RUNTIME_VERSION_MAJOR) {
        fprintf(stderr, "classify_idx: library %s, header %s: major versions differ\n",
                rnn_runtime_version_string(), RNN_RUNTIME_VERSION_STRING);
        return 1;
    }

    rnn_model *model = NULL;
    rnn_status status = rnn_model_load(model_path, &model);
    if (status != RNN_OK) return fail("rnn_model_load", status);

    size_t height, width, classes;
    rnn_model_input_shape(model, &height, &width);
    rnn_model_class_count(model, &classes);
    char (*labels)[257] = calloc(classes, sizeof *labels);
    if (!labels) {
        rnn_model_free(model);
        fprintf(stderr, "classify_idx: out of memory\n");
        return 1;
    }
    for (size_t c = 0; c < classes; c++) {
        status = rnn_model_label(model, c, labels[c], sizeof labels[c], NULL);
        if (status != RNN_OK) return fail("rnn_model_label", status);
    }

    idx_file images, truth = {0};
    if (idx_read(images_path, MAX_IDX_BYTES, &images) != 0) return 1;
    if (images.rows != height || images.cols != width) {
        fprintf(stderr, "classify_idx: expected %zux%zu images, found %zux%zu in '%s'\n", height, width, images.rows,
                images.cols, images_path);
        return 1;
    }
    if (labels_path) {
        if (idx_read(labels_path, MAX_IDX_BYTES, &truth) != 0) return 1;
        if (truth.count != images.count || truth.item_size != 1) {
            fprintf(stderr, "classify_idx: expected %zu labels, found %zu in '%s'\n", images.count, truth.count,
                    labels_path);
            return 1;
        }
    }

    int32_t *predicted = malloc((images.count ? images.count : 1) * sizeof *predicted);
    if (!predicted) {
        fprintf(stderr, "classify_idx: out of memory\n");
        return 1;
    }
    double start = seconds();
    size_t pixels_per_image = height * width;
    for (size_t first = 0; first < images.count; first += batch) {
        size_t n = images.count - first < batch ? images.count - first : batch;
        status = rnn_classify_u8_classes(model, images.data + first * pixels_per_image, n * pixels_per_image, n,
                                         predicted + first, n);
        if (status != RNN_OK) return fail("rnn_classify_u8_classes", status);
    }
    double elapsed = seconds() - start;

    if (csv) {
        printf("index,class,label\n");
        for (size_t i = 0; i < images.count; i++) {
            printf("%zu,%d,", i, predicted[i]);
            print_csv_field(labels[predicted[i]]);
            putchar('\n');
        }
    }
    fprintf(summary, "librnnruntime %s: %zu images of %zux%zu, %zu classes, %.1f ms (%.0f images/s)\n",
            rnn_runtime_version_string(), images.count, height, width, classes, elapsed * 1e3,
            elapsed > 0 ? (double)images.count / elapsed : 0.0);
    if (labels_path) {
        size_t correct = 0;
        for (size_t i = 0; i < images.count; i++) correct += (size_t)predicted[i] == truth.data[i];
        fprintf(summary, "accuracy: %.2f%% (%zu/%zu)\n", images.count ? 100.0 * (double)correct / (double)images.count : 0.0,
                correct, images.count);
    }

    free(predicted);
    free(labels);
    idx_free(&images);
    idx_free(&truth);
    rnn_model_free(model);
    return 0;
}
