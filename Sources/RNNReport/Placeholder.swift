// Placeholder: replaced by the RNNReport implementation.
