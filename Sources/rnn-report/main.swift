print("rnn-report: not yet implemented")
