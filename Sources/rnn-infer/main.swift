print("rnn-infer: not yet implemented")
