/* idx.c -- see idx.h. */
#include "idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Reads exactly `n` bytes or fails (gzread returns short counts at the end of the file). */
static int read_exactly(gzFile in, void *buffer, size_t n) {
    uint8_t *p = buffer;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(in, p, chunk);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int idx_read(const char *path, size_t max_bytes, idx_file *out) {
    memset(out, 0, sizeof *out);
    gzFile in = gzopen(path, "rb");
    if (!in) {
        fprintf(stderr, "idx: cannot open '%s'\n", path);
        return -1;
    }
    uint8_t magic[4];
    if (read_exactly(in, magic, 4) != 0 || magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 ||
        magic[3] < 1 || magic[3] > 3) {
        fprintf(stderr, "idx: '%s': expected the magic 00 00 08 0{1,2,3} of a u8 IDX file\n", path);
        gzclose(in);
        return -1;
    }
    size_t dims[3] = {0, 0, 0}, total = 1;
    for (int d = 0; d < magic[3]; d++) {
        uint8_t b[4];
        if (read_exactly(in, b, 4) != 0) {
            fprintf(stderr, "idx: '%s': truncated header\n", path);
            gzclose(in);
            return -1;
        }
        dims[d] = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
        /* Check the size before allocating it (u32 dims: the product fits 64 bits for 2 dims;
         * test each step against the limit so 3 dims cannot overflow either). */
        if (dims[d] != 0 && total > max_bytes / dims[d]) {
            fprintf(stderr, "idx: '%s': more than %zu bytes of data\n", path, max_bytes);
            gzclose(in);
            return -1;
        }
        total *= dims[d];
    }
    uint8_t *data = malloc(total ? total : 1);
    if (!data) {
        fprintf(stderr, "idx: '%s': out of memory for %zu bytes\n", path, total);
        gzclose(in);
        return -1;
    }
    if (read_exactly(in, data, total) != 0) {
        fprintf(stderr, "idx: '%s': truncated: expected %zu bytes of data\n", path, total);
        free(data);
        gzclose(in);
        return -1;
    }
    gzclose(in);
    out->data = data;
    out->count = dims[0];
    out->item_size = dims[0] ? total / dims[0] : 0;
    out->rows = magic[3] == 3 ? dims[1] : 0;
    out->cols = magic[3] == 3 ? dims[2] : 0;
    return 0;
}

void idx_free(idx_file *file) {
    free(file->data);
    memset(file, 0, sizeof *file);
}
