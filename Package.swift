// swift-tools-version: 6.3
//
// The layout of this package is the architecture (docs/ARCHITECTURE.md):
//
//   RNNFormat    the .rnnm model-file format (spec/FORMAT.md): reader, writer, validation
//   RNNRuntime   inference: loads a model file, classifies batches (format + BLAS only)
//   RNNKernels   the fused LSTM and GRU steps in C, per instruction set (AVX-512, AVX2; the GRU also portable C)
//   RNNDatasets  IDX files, MNIST / Fashion-MNIST / IMDb loaders, .npy / UEA .ts / stream-line readers, checksummed downloads
//   RNNTraining  the LSTM trainer: forward, hand-written BPTT, Adam, export
//   rnn-train    CLI over RNNTraining
//   rnn-infer    CLI over RNNRuntime
//   RNNReport    the analysis report: SVG figures, HTML and Markdown pages
//   rnn-report   CLI that measures a trained model and writes the report
//   CommandLineSupport  what the three CLIs share: one-line errors, --version, stderr
//   RNNSupport   what every module shares: the C library import, atomic file writes, the monotonic
//                clock, decimal and JSON text, the run-log record (package API, not a product)
//   RNNRuntimeC  the stable C API (header in Sources/CRNNRuntime/include), as a shared library
//   rnn-golden   regenerates fixtures/golden (trainer-side expected outputs)
//   rnn-fixtures regenerates fixtures/models and fixtures/corrupt from RNNFixtureCorpus
//
// Test-only code ships in no product: RNNFixtureCorpus (the format's fixture files, built in
// memory; the tests and rnn-fixtures) and RNNTestSupport (ReferenceModel, the slow spec-literal
// oracle; the tests).
//
// System C libraries come in through system-library targets resolved with pkg-config.
import PackageDescription

let package = Package(
    name: "rnn",
    products: [
        .library(name: "RNNFormat", targets: ["RNNFormat"]),
        .library(name: "RNNRuntime", targets: ["RNNRuntime"]),
        .executable(name: "rnn-train", targets: ["rnn-train"]),
        .executable(name: "rnn-infer", targets: ["rnn-infer"]),
        .executable(name: "rnn-report", targets: ["rnn-report"]),
        .library(name: "rnnruntime", type: .dynamic, targets: ["RNNRuntimeC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian: libzstd-dev, zlib1g-dev, libopenblas-dev, libssl-dev).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // MARK: Libraries

        // Shared by every module below; its API is `package`, and it is in no product of its own.
        .target(name: "RNNSupport"),
        .target(name: "RNNFormat", dependencies: ["RNNSupport", "CZstd", "CZlib"]),
        // The fused LSTM and GRU step kernels (C, one variant per instruction set), shared by runtime and trainer.
        .target(name: "RNNKernels"),
        // The numeric core shared by runtime and trainer: activations, gate layout, the kernel call,
        // packed variable-length batches, the random generator. Not a product.
        .target(name: "RNNCore", dependencies: ["RNNSupport", "RNNKernels", "CBLAS"]),
        .target(name: "RNNRuntime", dependencies: ["RNNFormat", "RNNCore", "RNNSupport", "CBLAS"]),
        .target(name: "RNNDatasets", dependencies: ["RNNSupport", "CZlib", "COpenSSL"]),
        .target(name: "RNNTraining", dependencies: ["RNNFormat", "RNNDatasets", "RNNCore", "RNNSupport", "CBLAS", "RNNKernels"]),
        .target(name: "RNNReport", dependencies: ["RNNSupport"]),
        // What the three command-line tools share: the one-line error contract, --version, stderr.
        .target(name: "CommandLineSupport", dependencies: [
            "RNNFormat", "RNNSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "CRNNRuntime"),
        .target(name: "RNNRuntimeC", dependencies: ["CRNNRuntime", "RNNRuntime", "RNNFormat", "RNNSupport"]),

        // MARK: Test support (in no product)

        // The format's fixture corpus, built in memory: rnn-fixtures writes it to fixtures/, the
        // tests regenerate it to check the committed files are current.
        .target(name: "RNNFixtureCorpus", dependencies: ["RNNFormat", "RNNCore"]),
        // ReferenceModel: spec §6 written literally, the oracle the runtime's tests compare with.
        .target(name: "RNNTestSupport", dependencies: ["RNNFormat", "RNNRuntime", "RNNSupport"]),

        // MARK: Command-line tools

        .executableTarget(name: "rnn-train", dependencies: [
            "CommandLineSupport", "RNNSupport",
            "RNNTraining", "RNNCore", "RNNFormat", "RNNDatasets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "rnn-infer", dependencies: [
            "CommandLineSupport", "RNNSupport",
            "RNNRuntime", "RNNCore", "RNNFormat", "RNNDatasets", "RNNReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "rnn-report", dependencies: [
            "CommandLineSupport", "RNNSupport",
            "RNNReport", "RNNRuntime", "RNNFormat", "RNNDatasets",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "rnn-golden", dependencies: ["RNNTraining", "RNNCore", "RNNFormat", "RNNDatasets", "RNNSupport"]),
        // Regenerates fixtures/ deterministically (`make fixtures`).
        .executableTarget(name: "rnn-fixtures", dependencies: ["RNNFixtureCorpus", "RNNSupport"]),

        // MARK: Tests

        .testTarget(name: "RNNSupportTests", dependencies: ["RNNSupport"]),
        .testTarget(name: "RNNFormatTests", dependencies: ["RNNFormat", "RNNFixtureCorpus", "RNNCore"]),
        .testTarget(name: "RNNKernelsTests", dependencies: ["RNNKernels"]),
        .testTarget(name: "RNNCoreTests", dependencies: ["RNNCore"]),
        .testTarget(name: "RNNRuntimeTests", dependencies: ["RNNRuntime", "RNNFormat", "RNNCore", "RNNTestSupport"]),
        .testTarget(name: "RNNDatasetsTests", dependencies: ["RNNDatasets"]),
        .testTarget(name: "GoldenTests", dependencies: ["RNNRuntime", "RNNTraining", "RNNFormat", "RNNDatasets", "RNNTestSupport"]),
        .testTarget(name: "RNNReportTests", dependencies: ["RNNReport"], exclude: ["browser"]),
        .testTarget(name: "RNNTrainingTests", dependencies: ["RNNTraining", "RNNRuntime", "RNNFormat", "RNNDatasets", "RNNKernels", "RNNCore", "RNNTestSupport"]),
        .testTarget(name: "RNNRuntimeCTests", dependencies: ["RNNRuntimeC", "CRNNRuntime", "RNNRuntime", "RNNFormat"]),
    ]
)
