print("rnn-golden: not yet implemented")
