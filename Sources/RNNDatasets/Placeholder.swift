// Placeholder: replaced by the RNNDatasets implementation.
