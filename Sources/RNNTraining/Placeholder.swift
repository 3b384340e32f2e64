// Placeholder: replaced by the RNNTraining implementation.
