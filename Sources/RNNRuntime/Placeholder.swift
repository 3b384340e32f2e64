// Placeholder: replaced by the RNNRuntime implementation.
