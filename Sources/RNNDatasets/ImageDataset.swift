/// The image classification data sets this package knows by name.
///
/// Both come as the same four IDX files (LeCun et al. 1998; Xiao et al. 2017), 28x28 grey-scale,
/// 60,000 training and 10,000 test images, ten classes.
public enum ImageDataset: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Handwritten digits 0-9.
    case mnist
    /// Zalando's Fashion-MNIST: ten kinds of clothing, a drop-in replacement for MNIST.
    case fashionMNIST = "fashion-mnist"

    /// The data set's usual name, for messages.
    public var description: String {
        switch self {
        case .mnist: "MNIST"
        case .fashionMNIST: "Fashion-MNIST"
        }
    }

    /// Class names in label order (label `i` is `classNames[i]`).
    public var classNames: [String] {
        switch self {
        case .mnist:
            (0 ... 9).map(String.init)
        case .fashionMNIST:
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        }
    }

    /// Where the files are looked for when neither `--data` nor the environment variable says.
    ///
    /// Fashion-MNIST defaults to where Debian's `dataset-fashion-mnist` package installs it.
    public var defaultDirectory: String {
        switch self {
        case .mnist: "./data/mnist"
        case .fashionMNIST: "/usr/share/datasets/fashion-mnist"
        }
    }

    /// The environment variable that names the data directory (`MNIST_DIR`, `FASHION_MNIST_DIR`).
    public var environmentVariable: String {
        switch self {
        case .mnist: "MNIST_DIR"
        case .fashionMNIST: "FASHION_MNIST_DIR"
        }
    }

    /// The public mirror the four `.gz` files are downloaded from (base URL, ending in `/`).
    public var defaultMirror: String {
        switch self {
        case .mnist: "https://ossci-datasets.s3.amazonaws.com/mnist/"
        case .fashionMNIST: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
        }
    }

    /// The four files, each with the SHA-256 of its decompressed bytes.
    ///
    /// Checksums cover decompressed content because the same IDX data circulates in differently
    /// compressed `.gz` files. MNIST: the original files. Fashion-MNIST: Debian's
    /// `dataset-fashion-mnist` 0.0~git20200523.55506a9-1, decompressed.
    public var files: [DatasetFile] {
        switch self {
        case .mnist:
            Self.idxFiles(trainImages: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                          trainLabels: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                          testImages: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                          testLabels: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")
        case .fashionMNIST:
            Self.idxFiles(trainImages: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                          trainLabels: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                          testImages: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                          testLabels: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")
        }
    }

    /// The four IDX files both data sets name alike, in the order train images, train labels, test
    /// images, test labels, with the given checksums.
    private static func idxFiles(trainImages: String, trainLabels: String, testImages: String,
                                 testLabels: String) -> [DatasetFile] {
        [
            DatasetFile(name: "train-images-idx3-ubyte", split: .train, kind: .images, sha256: trainImages),
            DatasetFile(name: "train-labels-idx1-ubyte", split: .train, kind: .labels, sha256: trainLabels),
            DatasetFile(name: "t10k-images-idx3-ubyte", split: .test, kind: .images, sha256: testImages),
            DatasetFile(name: "t10k-labels-idx1-ubyte", split: .test, kind: .labels, sha256: testLabels),
        ]
    }

    /// The file for `split` and `kind`.
    public func file(_ split: DatasetFile.Split, _ kind: DatasetFile.Kind) -> DatasetFile {
        // Every data set lists all four combinations, so the search always succeeds.
        files.first { $0.split == split && $0.kind == kind } ?? files[0]
    }
}

/// One of a data set's four IDX files.
public struct DatasetFile: Sendable, Equatable {
    /// Which half of the data a file belongs to.
    public enum Split: String, Sendable { case train, test }
    /// What a file holds.
    public enum Kind: String, Sendable { case images, labels }

    /// The decompressed file name; on disk it may also be `name + ".gz"`.
    public let name: String
    /// Training or test data.
    public let split: Split
    /// Images or labels.
    public let kind: Kind
    /// SHA-256 of the decompressed bytes, lower-case hexadecimal.
    public let sha256: String
}
