import Testing
@testable import RNNDatasets

@Suite struct SHA256Tests {
    @Test func knownDigestsMatchFIPSExamples() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func nonContiguousCollectionsHashTheSame() {
        let bytes = (0 ..< 1000).map { UInt8($0 % 251) }
        #expect(SHA256.hex(bytes.lazy.map { $0 }) == SHA256.hex(bytes))
        #expect(SHA256.hex(bytes[10 ..< 20]) == SHA256.hex(Array(bytes[10 ..< 20])))
    }
}
