/*
 * idx.h -- a minimal reader for IDX files (the MNIST container), raw or gzip-compressed.
 *
 * IDX: 2 zero bytes, an element-type byte (0x08 = unsigned byte), the number of dimensions, then
 * one big-endian u32 per dimension, then the elements, row-major. zlib's gzread passes files that
 * are not gzip through unchanged, so one code path reads both `.idx` and `.idx.gz`.
 */
#ifndef RNN_EXAMPLES_IDX_H
#define RNN_EXAMPLES_IDX_H

#include <stddef.h>
#include <stdint.h>

/* A u8 IDX file in memory: dims[0] items of dims[1] x ... values each. */
typedef struct idx_file {
    uint8_t *data;       /* malloc'ed; release with idx_free */
    size_t count;        /* dims[0]: number of items (images or labels) */
    size_t item_size;    /* product of the remaining dims (1 for a labels file) */
    size_t rows, cols;   /* dims[1], dims[2] for a 3-d images file, else 0 */
} idx_file;

/* Reads `path`; on failure prints one line to stderr and returns -1. `max_bytes` bounds the
 * allocation taken from the header (checked before allocating). */
int idx_read(const char *path, size_t max_bytes, idx_file *out);

void idx_free(idx_file *file);

#endif
