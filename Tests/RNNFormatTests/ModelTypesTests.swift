import Testing
@testable import RNNFormat

@Test func tensorCountIsProductOfShape() {
    let t = Tensor(name: "w", shape: [3, 4], values: Array(repeating: 0, count: 12))
    #expect(t.count == 12)
    #expect(t.dtype == .f32)
}
