print("rnn-train: not yet implemented")
