/* The C API is implemented in Swift (Sources/RNNRuntimeC); this target only carries the header. */
