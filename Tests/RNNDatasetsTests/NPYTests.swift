import Foundation
import Testing
@testable import RNNDatasets

/// `.npy` files: written by numpy itself (every accepted type, versions 1.0 to 3.0, and the layouts
/// and types it must refuse), then hostile headers and sizes built here byte by byte, each refused
/// with its own one-line error.
@Suite struct NPYTests {
    /// A `.npy` file: magic, version, little-endian header length, `header` padded with spaces and
    /// a newline to a multiple of 64 bytes, then `data`.
    static func file(_ header: String, _ data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let prefixBytes = version == 1 ? 10 : 12
        var text = Array(header.utf8)
        let padded = (prefixBytes + text.count + 1 + 63) / 64 * 64
        text += [UInt8](repeating: 0x20, count: padded - prefixBytes - text.count - 1) + [0x0A]
        var bytes: [UInt8] = NPYHeader.magic + [version, 0]
        for shift in stride(from: 0, to: version == 1 ? 16 : 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: text.count >> shift)) }
        return bytes + text + data
    }

    static func header(_ descr: String = "<f4", fortran: String = "False", shape: String) -> String {
        "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }"
    }

    static func littleEndian(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in (0 ..< 4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
    }

    static func littleEndian(_ values: [Double]) -> [UInt8] {
        values.flatMap { value in (0 ..< 8).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
    }

    /// The `.npy` problem `bytes` is refused with (a recorded issue when it is another error).
    static func problem(_ bytes: [UInt8]) -> NPYProblem? {
        let error = TestSupport.error { () throws(DatasetError) in try NPYArray.parse(bytes) }
        guard case .npy(let path, let problem)? = error else {
            Issue.record("expected a .npy error, got \(String(describing: error))")
            return nil
        }
        #expect(path == "<memory>")
        #expect(!(error?.description.contains("\n") ?? true))
        return problem
    }

    // MARK: Files numpy writes

    @Test func readsWhatNumPyWrites() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        let script = """
        import sys, numpy as np
        d = sys.argv[1]
        np.save(d + "/f4.npy", (np.arange(24, dtype="<f4") / 8 - 1).reshape(2, 3, 4))
        np.save(d + "/f8.npy", np.array([0.1, -2.5, 1e-310, 3.4e38, 1 / 3], dtype="<f8"))
        np.save(d + "/i4.npy", np.array([[-2**31, 0, 2**31 - 1]], dtype="<i4"))
        np.save(d + "/i8.npy", np.array([-2**63, -1, 0, 2**63 - 1], dtype="<i8"))
        np.save(d + "/scalar.npy", np.float32(2.5))
        np.save(d + "/empty.npy", np.zeros((0, 5, 3), dtype="<f4"))
        np.save(d + "/fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="<f4")))
        np.save(d + "/big-endian.npy", np.ones(3, dtype=">f4"))
        np.save(d + "/f2.npy", np.ones(3, dtype="<f2"))
        np.save(d + "/object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
        np.save(d + "/structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
        for version in ((2, 0), (3, 0)):
            with open(d + "/v%d.npy" % version[0], "wb") as f:
                np.lib.format.write_array(f, np.arange(6, dtype="<f4").reshape(3, 2), version=version)
        """
        try TestSupport.python(script, directory: directory, needs: "python3 with numpy")

        let f4 = try NPYArray.read(at: directory + "/f4.npy")
        #expect(f4.dtype == .float32 && f4.shape == [2, 3, 4])
        #expect(f4.values == .float((0 ..< 24).map { Float($0) / 8 - 1 }))
        let f8 = try NPYArray.read(at: directory + "/f8.npy")
        #expect(f8.dtype == .float64 && f8.shape == [5])
        // Each double rounded once to the nearest float; 1e-310 is below float's subnormals: zero.
        #expect(f8.values == .float([Float(0.1), -2.5, 0, Float(3.4e38), Float(1.0 / 3)]))
        #expect(try NPYArray.read(at: directory + "/i4.npy").values == .integer([Int64(Int32.min), 0, Int64(Int32.max)]))
        #expect(try NPYArray.read(at: directory + "/i4.npy").shape == [1, 3])
        #expect(try NPYArray.read(at: directory + "/i8.npy").values == .integer([.min, -1, 0, .max]))
        let scalar = try NPYArray.read(at: directory + "/scalar.npy")
        #expect(scalar.shape == [] && scalar.values == .float([2.5]))
        let empty = try NPYArray.read(at: directory + "/empty.npy")
        #expect(empty.shape == [0, 5, 3] && empty.values == .float([]))
        #expect(try empty.featureSequences() == FeatureSequences(features: 3, values: []))
        for version in [2, 3] {
            let array = try NPYArray.read(at: directory + "/v\(version).npy")
            #expect(array.shape == [3, 2] && array.values == .float([0, 1, 2, 3, 4, 5]), "version \(version).0")
            #expect(try TestSupport.read(directory + "/v\(version).npy")[6] == UInt8(version))
        }

        func refusal(_ name: String) -> NPYProblem? {
            let error = TestSupport.error { () throws(DatasetError) in try NPYArray.read(at: directory + "/" + name) }
            guard case .npy(_, let problem)? = error else { Issue.record("\(name): \(String(describing: error))"); return nil }
            return problem
        }
        #expect(refusal("fortran.npy") == .fortranOrder)
        #expect(NPYProblem.fortranOrder.description == "Fortran-order array: save with np.ascontiguousarray")
        #expect(refusal("big-endian.npy") == .unsupportedDType(descr: ">f4"))
        #expect(refusal("big-endian.npy")?.description.contains("big-endian; save with arr.astype('<f4')") == true)
        #expect(refusal("f2.npy") == .unsupportedDType(descr: "<f2"))
        #expect(refusal("object.npy") == .unsupportedDType(descr: "|O"))
        #expect(refusal("object.npy")?.description.contains("object arrays") == true)
        guard case .headerValue(key: "descr", _, found: let found)? = refusal("structured.npy") else {
            Issue.record("structured dtype: \(String(describing: refusal("structured.npy")))")
            return
        }
        #expect(found.contains("structured"))
    }

    @Test func featureSequencesAndLengthsFromNumPy() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        // Padding past each length is NaN, which must be neither kept nor checked.
        let script = """
        import sys, numpy as np
        x = np.full((3, 4, 2), np.nan, dtype="<f4")
        for i, n in enumerate([4, 1, 0]):
            x[i, :n] = np.arange(n * 2).reshape(n, 2) + 10 * i
        np.save(sys.argv[1] + "/x.npy", x)
        np.save(sys.argv[1] + "/lengths.npy", np.array([4, 1, 0], dtype="<i8"))
        """
        try TestSupport.python(script, directory: directory, needs: "python3 with numpy")
        let x = try NPYArray.read(at: directory + "/x.npy")
        let lengths = try NPYArray.read(at: directory + "/lengths.npy")
        let sequences = try x.featureSequences(lengths: lengths)
        #expect(sequences.features == 2 && sequences.lengths == [4, 1, 0])
        #expect(sequences.values == [[0, 1, 2, 3, 4, 5, 6, 7], [10, 11], []])
        // Without the lengths the NaN padding is data: the first one is named (NaN != NaN: compare the text).
        #expect(TestSupport.error { () throws(DatasetError) in try x.featureSequences() }?.description
            == "\(directory)/x.npy: .npy: sequence 1, step 1, feature 0 is nan, expected a finite number")
    }

    // MARK: Hostile headers

    @Test func headerBytesAreCheckedInOrder() throws {
        let data = Self.littleEndian([Float](repeating: 1, count: 6))
        #expect(try NPYArray.parse(Self.file(Self.header(shape: "(2, 3)"), data)).values == .float(Array(repeating: 1, count: 6)))
        #expect(Self.problem(Array("PK\u{3}\u{4}rest of a zip".utf8))?.description.contains("unzip it") == true)
        #expect(Self.problem(Array("GIF89a....".utf8)) == .badMagic(found: Array("GIF89a..".utf8)))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(Array(NPYHeader.magic.prefix(4))) }
            == .truncated(path: "<memory>", expectedBytes: 10, foundBytes: 4))
        #expect(Self.problem(NPYHeader.magic + [4, 0, 0, 0]) == .unsupportedVersion(major: 4, minor: 0))
        #expect(Self.problem(NPYHeader.magic + [1, 1, 0, 0]) == .unsupportedVersion(major: 1, minor: 1))
        // A 4 GiB header length (version 2.0) is refused from its field, before anything is read.
        #expect(Self.problem(NPYHeader.magic + [2, 0, 0xFF, 0xFF, 0xFF, 0xFF]) == .headerTooLarge(bytes: 0xFFFF_FFFF, limit: 1 << 20))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(NPYHeader.magic + [1, 0, 100, 0] + Array("{'descr'".utf8)) }
            == .truncated(path: "<memory>", expectedBytes: 110, foundBytes: 18))
    }

    @Test func headerMustBeExactlyTheDictNumpyWrites() throws {
        func refused(_ header: String) -> NPYProblem? { Self.problem(Self.file(header)) }
        // Syntax: not a dict, garbage after it, unclosed, escapes, nesting, lower-case false.
        guard case .headerSyntax(0, "'{' (the header is a dict)", _)? = refused("['descr', '<f4']") else {
            Issue.record("a list header")
            return
        }
        let garbage = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x"
        guard case .headerSyntax(garbage.utf8.count - 1, "only spaces and a newline after '}'", _)? = refused(garbage) else {
            Issue.record("garbage after the dict: \(String(describing: refused(garbage)))")
            return
        }
        for header in ["{'descr': '<f4'", "{'descr' '<f4'}", "{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': ()}",
                       "{'descr': '<f4', 'fortran_order': False, 'shape': ((2,),)}", "{'descr': <f4}", "{'a': 1,, }",
                       "{'descr': '<f4', 'fortran_order': false, 'shape': ()}"] {
            guard case .headerSyntax? = refused(header) else { Issue.record("accepted or misreported: \(header)"); continue }
        }
        // Keys: exactly the three, once each.
        #expect(refused("{'descr': '<f4', 'shape': (1,)}") == .headerKeys(detail: "'fortran_order' missing"))
        #expect(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}")
            == .headerKeys(detail: "unexpected key \"extra\""))
        #expect(refused("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}")
            == .headerKeys(detail: "'descr' given twice"))
        // Values of the wrong kind.
        #expect(refused("{'descr': 4, 'fortran_order': False, 'shape': (1,)}")
            == .headerValue(key: "descr", expected: "a dtype string such as '<f4' (structured dtypes are not supported)", found: "4"))
        #expect(refused(Self.header(fortran: "None", shape: "(1,)"))
            == .headerValue(key: "fortran_order", expected: "True or False", found: "None"))
        // (3) is the integer 3 in Python, not a tuple.
        #expect(refused(Self.header(shape: "(3)"))
            == .headerValue(key: "shape", expected: "a tuple of integers such as (2, 7, 12) or (5,)", found: "3"))
        #expect(refused(Self.header(shape: "(3, 'a')"))
            == .headerValue(key: "shape", expected: "a tuple of integers such as (2, 7, 12) or (5,)", found: "an element \"a\""))
        // dtypes.
        #expect(refused(Self.header("=f4", shape: "(1,)")) == .unsupportedDType(descr: "=f4"))
        #expect(refused(Self.header("=f4", shape: "(1,)"))?.description.contains("never appears in a file numpy writes") == true)
        #expect(refused(Self.header("<u1", shape: "(1,)")) == .unsupportedDType(descr: "<u1"))
        #expect(refused(Self.header(fortran: "True", shape: "(2, 3)")) == .fortranOrder)
        // Double quotes and no trailing comma are still Python.
        #expect(try NPYArray.parse(Self.file("{\"shape\": (1,), \"fortran_order\": False, \"descr\": \"<i4\"}", [7, 0, 0, 0])).values
            == .integer([7]))
    }

    @Test func shapesAreCheckedBeforeAnythingIsAllocated() {
        #expect(Self.problem(Self.file(Self.header(shape: "(2, -3)"))) == .negativeDimension(index: 1, text: "-3"))
        #expect(Self.problem(Self.file(Self.header(shape: "(99999999999999999999,)"))) == .shapeOverflow(shape: "with dimension 99999999999999999999"))
        // 2^32 * 2^32 elements overflow Int; 2^62 elements of 4 bytes overflow the byte count.
        #expect(Self.problem(Self.file(Self.header(shape: "(4294967296, 4294967296)"))) == .shapeOverflow(shape: "(4294967296, 4294967296)"))
        #expect(Self.problem(Self.file(Self.header(shape: "(4611686018427387904,)"))) == .shapeOverflow(shape: "(4611686018427387904,)"))
        // A message names at most 8 dimensions, whatever the header declares.
        let many = "(" + Array(repeating: "65536", count: 20).joined(separator: ", ") + ")"
        #expect(Self.problem(Self.file(Self.header(shape: many)))
            == .shapeOverflow(shape: "(" + Array(repeating: "65536", count: 8).joined(separator: ", ") + ", ... 20 dimensions)"))
        // Exactly the default 4 GiB cap but longer than the file; over a smaller cap; the data
        // shorter and longer than the shape.
        let claim = Self.file(Self.header(shape: "(1024, 1024, 1024)"))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(claim) }
            == .truncated(path: "<memory>", expectedBytes: claim.count + (4 << 30), foundBytes: claim.count))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(claim, maximumDataBytes: 1 << 20) }
            == .tooLarge(path: "<memory>", claimedBytes: 4 << 30, limit: 1 << 20))
        let data = Self.littleEndian([Float](repeating: 0.5, count: 6))
        let twoByFour = Self.file(Self.header(shape: "(2, 4)"))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(twoByFour + data) }
            == .truncated(path: "<memory>", expectedBytes: twoByFour.count + 32, foundBytes: twoByFour.count + 24))
        let five = Self.file(Self.header(shape: "(5,)"))
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(five + data) }
            == .trailingData(path: "<memory>", expectedBytes: five.count + 20, foundBytes: five.count + 24))
    }

    @Test func aStreamClaimingGigabytesCostsOnlyWhatArrives() throws {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        // 3 GiB claimed (under the 4 GiB cap), 1,000 bytes sent, gzip-compressed: no length is known
        // up front, exactly as on standard input.
        let path = directory + "/claims-3GiB.npy.gz"
        let header = Self.file(Self.header(shape: "(3, 1024, 262144)"))
        let bytes = header + [UInt8](repeating: 0, count: 1000)
        try TestSupport.write(Gzip.compress(bytes), to: path)
        let before = TestSupport.peakResidentBytes()
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.read(at: path) }
            == .truncated(path: path, expectedBytes: header.count + (3 << 30), foundBytes: bytes.count))
        let grown = TestSupport.peakResidentBytes() - before
        #expect(grown < 1 << 30, "peak resident set grew by \(grown >> 20) MiB reading 1,128 bytes")
        // The same as a regular file: refused from its length, before reading the data.
        try TestSupport.write(bytes, to: directory + "/claims-3GiB.npy")
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.read(at: directory + "/claims-3GiB.npy") }
            == .truncated(path: directory + "/claims-3GiB.npy", expectedBytes: header.count + (3 << 30), foundBytes: bytes.count))
    }

    @Test func float64ThatOverflowsFloat32IsAnErrorAtItsIndex() {
        let data = Self.littleEndian([1.5, -1e300, .infinity, 3.5e38])
        #expect(Self.problem(Self.file(Self.header("<f8", shape: "(4,)"), data)) == .valueOverflow(index: 1, value: -1e300))
        // The file's length is checked first, on a stream as on bytes of known length.
        let longer = Self.file(Self.header("<f8", shape: "(3,)"), data)
        #expect(TestSupport.error { () throws(DatasetError) in try NPYArray.parse(longer) }
            == .trailingData(path: "<memory>", expectedBytes: longer.count - 8, foundBytes: longer.count))
        #expect(TestSupport.error { () throws(DatasetError) in
            try NPYArray.read(from: MemoryByteSource(longer), rawSize: nil, maximumDataBytes: 1 << 20)
        } == .trailingData(path: "<memory>", expectedBytes: longer.count - 8, foundBytes: longer.count - 7))
        // Already infinite (or NaN) is not an overflow: it is read as is, for featureSequences to name.
        let array = try? NPYArray.parse(Self.file(Self.header("<f8", shape: "(1, 2, 1)"), Self.littleEndian([1.5, .infinity])))
        #expect(array?.values == .float([1.5, .infinity]))
        #expect(TestSupport.error { () throws(DatasetError) in try array?.featureSequences() }
            == .npy(path: "<memory>", .nonFiniteFeature(sequence: 0, step: 1, feature: 0, value: .infinity)))
    }

    // MARK: Feature sequences and lengths

    @Test func featureSequencesCheckRankTypeAndLengths() throws {
        let x = try NPYArray.parse(Self.file(Self.header(shape: "(2, 3, 2)"), Self.littleEndian((0 ..< 12).map(Float.init))))
        let all = try x.featureSequences()
        #expect(all.features == 2 && all.lengths == [3, 3] && all.values == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
        func lengths(_ descr: String, _ shape: String, _ data: [UInt8]) throws(DatasetError) -> NPYArray {
            try NPYArray.parse(Self.file(Self.header(descr, shape: shape), data), path: "lengths.npy")
        }
        let short = try x.featureSequences(lengths: try lengths("<i4", "(2,)", [2, 0, 0, 0, 0, 0, 0, 0]))
        #expect(short.lengths == [2, 0] && short.values == [[0, 1, 2, 3], []])

        func error(_ body: () throws(DatasetError) -> FeatureSequences) -> NPYProblem? {
            guard case .npy(_, let problem)? = TestSupport.error(body) else { return nil }
            return problem
        }
        #expect(error { () throws(DatasetError) in try x.featureSequences(lengths: try lengths("<i4", "(2,)", [4, 0, 0, 0, 1, 0, 0, 0])) }
            == .lengthOutOfRange(index: 0, value: 4, maximum: 3))
        #expect(error { () throws(DatasetError) in try x.featureSequences(lengths: try lengths("<i4", "(2,)", [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])) }
            == .lengthOutOfRange(index: 1, value: -1, maximum: 3))
        #expect(error { () throws(DatasetError) in try x.featureSequences(lengths: try lengths("<i4", "(1,)", [1, 0, 0, 0])) }
            == .lengthCount(expected: 2, found: 1))
        #expect(error { () throws(DatasetError) in try x.featureSequences(lengths: try lengths("<f4", "(2,)", Self.littleEndian([1, 1] as [Float]))) }
            == .wrongDType(expected: "integer lengths ('<i4' or '<i8')", found: "<f4"))
        #expect(error { () throws(DatasetError) in try x.featureSequences(lengths: try lengths("<i4", "(2, 1)", [UInt8](repeating: 0, count: 8))) }
            == .wrongShape(expected: "rank 1 [N] (one length per sequence)", shape: [2, 1]))

        let matrix = try NPYArray.parse(Self.file(Self.header(shape: "(3, 2)"), Self.littleEndian([Float](repeating: 0, count: 6))))
        #expect(error { () throws(DatasetError) in try matrix.featureSequences() }?.description
            == "array of shape (3, 2), expected rank 3 [N, T, F] (sequences, steps, features) with F >= 1; one sequence [T, F] is arr[None]")
        let noFeatures = try NPYArray.parse(Self.file(Self.header(shape: "(3, 2, 0)")))
        #expect(error { () throws(DatasetError) in try noFeatures.featureSequences() }
            == .wrongShape(expected: "rank 3 [N, T, F] (sequences, steps, features) with F >= 1", shape: [3, 2, 0]))
        let integers = try NPYArray.parse(Self.file(Self.header("<i8", shape: "(1, 1, 1)"), [UInt8](repeating: 0, count: 8)))
        #expect(error { () throws(DatasetError) in try integers.featureSequences() }
            == .wrongDType(expected: "float features ('<f4' or '<f8')", found: "<i8"))
        let nan = try NPYArray.parse(Self.file(Self.header(shape: "(2, 2, 3)"),
                                               Self.littleEndian((0 ..< 12).map { $0 == 10 ? Float.nan : Float($0) })))
        #expect(error { () throws(DatasetError) in try nan.featureSequences() }?.description
            == "sequence 1, step 1, feature 1 is nan, expected a finite number")
    }
}
