print("rnn-fixtures: not yet implemented")
