// rnn-golden: regenerates fixtures/golden, the trainer-side expected outputs that every
// implementation of the .rnnm format is checked against (spec/GOLDEN.md).
//
//   rnn-golden [--data MNIST_DIR] OUTPUT_DIR
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
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        switch argument {
        case "--data":
            guard let value = rest.popFirst() else { throw .usage("--data needs a directory") }
            data = value
        case "-h", "--help":
            print("usage: rnn-golden [--data MNIST_DIR] OUTPUT_DIR   (MNIST_DIR defaults to $MNIST_DIR, else ../shared/datasets/mnist)")
            return
        default:
            guard output == nil, !argument.hasPrefix("-") else { throw .usage("unexpected argument '\(argument)'; rnn-golden [--data MNIST_DIR] OUTPUT_DIR") }
            output = argument
        }
    }
    guard let output else { throw .usage("rnn-golden [--data MNIST_DIR] OUTPUT_DIR") }
    let mnist = data ?? getenv("MNIST_DIR").map { String(cString: $0) } ?? "../shared/datasets/mnist"
    if mkdir(output, 0o755) != 0 && errno != EEXIST {
        throw .io(path: output, reason: "cannot create the directory: \(String(cString: strerror(errno)))")
    }
    let fixtures = GoldenFixtures(directory: output, mnistDirectory: mnist)
    let files = try fixtures.generate { printError("rnn-golden: \($0)") }
    printError("rnn-golden: wrote \(files.count) files to \(output)")
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
