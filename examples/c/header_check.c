/* header_check.c -- compiled by examples/run.sh as C99 with -pedantic and as C++ to check that
 * rnn_runtime.h is self-contained (includes what it uses), warning-free and usable from C++, and
 * that the ABI values of its enumerations are the documented ones. */
#include "rnn_runtime.h"
#include "rnn_runtime.h" /* the include guard works */

#if RNN_RUNTIME_VERSION_NUMBER != RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH
#error "RNN_RUNTIME_VERSION_NUMBER disagrees with MAJOR/MINOR/PATCH"
#endif

/* Compile-time checks that work in C99 and C++: an array of negative size is an error. */
#define ABI_VALUE(name, value) typedef char abi_##name[(name) == (value) ? 1 : -1]
ABI_VALUE(RNN_ERROR_UNSUPPORTED_MODEL, 20);
ABI_VALUE(RNN_ERROR_INTERNAL, 99);
ABI_VALUE(RNN_INPUT_IMAGE_ROWS, 1); /* 1.1 */
ABI_VALUE(RNN_INPUT_TOKENS, 2);
ABI_VALUE(RNN_INPUT_FEATURES, 3);
ABI_VALUE(RNN_INPUT_IMAGE, 4);  /* 1.2 */
ABI_VALUE(RNN_OUTPUT_LOGITS, 1);
ABI_VALUE(RNN_OUTPUT_VALUES, 2);

int main(void) {
    rnn_model *model = 0;
    rnn_stream *stream = 0;
    rnn_status status = rnn_model_load("missing.rnnm", &model);
    /* Freeing NULL handles is allowed and succeeds. */
    if (rnn_stream_free(stream) != RNN_OK || rnn_model_free(model) != RNN_OK) return 1;
    return status == RNN_OK ? 1 : 0;
}
