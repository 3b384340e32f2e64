/* Placeholder: the stable C API header is written by the C API work (issue 8). */
#ifndef RNN_RUNTIME_H
#define RNN_RUNTIME_H
#endif
