/* header_check.c -- compiled by examples/run.sh as C99 with -pedantic and as C++ to check that
 * rnn_runtime.h is self-contained (includes what it uses), warning-free and usable from C++. */
#include "rnn_runtime.h"
#include "rnn_runtime.h" /* the include guard works */

#if RNN_RUNTIME_VERSION_NUMBER != RNN_RUNTIME_VERSION_MAJOR * 10000 + RNN_RUNTIME_VERSION_MINOR * 100 + RNN_RUNTIME_VERSION_PATCH
#error "RNN_RUNTIME_VERSION_NUMBER disagrees with MAJOR/MINOR/PATCH"
#endif

int main(void) {
    rnn_model *model = 0;
    rnn_status status = rnn_model_load("missing.rnnm", &model);
    return status == RNN_OK ? 1 : 0;
}
