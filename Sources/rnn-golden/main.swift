// rnn-golden: regenerates fixtures/golden, the trainer-side expected outputs that every
// implementation of the .rnnm format is checked against (spec/GOLDEN.md).
//
//   rnn-golden [--data MNIST_DIR] [--only trainer] OUTPUT_DIR
//
// OUTPUT_DIR receives the format 1.0 set and, in OUTPUT_DIR/trainer, the trainer-made set of the
// newer layer kinds; `--only trainer` writes just the latter (seconds, no MNIST needed).
//
// The output is a function of the code alone (seeded training on one thread, pinned BLAS
// kernels, no timestamps), so `git diff` after regenerating shows exactly what a change did.
import RNNSupport
import RNNCore
import RNNTraining

pinBLASKernel()
BLASThreads.set(1)

func run(_ arguments: [String]) throws(GoldenError) {
    var data: String?
    var output: String?
    var trainerOnly = false
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        switch argument {
        case "--data":
            guard let value = rest.popFirst() else { throw .usage("--data needs a directory") }
            data = value
        case "--only":
            guard rest.popFirst() == TrainerSetFixtures.subdirectory else { throw .usage("--only takes '\(TrainerSetFixtures.subdirectory)'") }
            trainerOnly = true
        case "-h", "--help":
            print("usage: rnn-golden [--data MNIST_DIR] [--only trainer] OUTPUT_DIR   (MNIST_DIR defaults to $MNIST_DIR, else ../shared/datasets/mnist)")
            return
        default:
            guard output == nil, !argument.hasPrefix("-") else { throw .usage("unexpected argument '\(argument)'; rnn-golden [--data MNIST_DIR] [--only trainer] OUTPUT_DIR") }
            output = argument
        }
    }
    guard let output else { throw .usage("rnn-golden [--data MNIST_DIR] OUTPUT_DIR") }
    let mnist = data ?? getenv("MNIST_DIR").map { String(cString: $0) } ?? "../shared/datasets/mnist"
    let log = { (line: String) in printError("rnn-golden: \(line)") }
    var count = 0
    if !trainerOnly {
        try makeDirectory(output)
        count += try GoldenFixtures(directory: output, mnistDirectory: mnist).generate(log: log).count
    }
    let trainerDirectory = "\(output)/\(TrainerSetFixtures.subdirectory)"
    try makeDirectory(output)
    try makeDirectory(trainerDirectory)
    count += try TrainerSetFixtures(directory: trainerDirectory).generate(log: log).count
    printError("rnn-golden: wrote \(count) files to \(output)")
}

/// Creates `path` unless it exists.
func makeDirectory(_ path: String) throws(GoldenError) {
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw .io(path: path, reason: "cannot create the directory: \(String(cString: strerror(errno)))")
    }
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("rnn-golden: error: \(error)")
    exit(error.isUsage ? 64 : 1)
}

extension GoldenError {
    var isUsage: Bool { if case .usage = self { true } else { false } }
}
