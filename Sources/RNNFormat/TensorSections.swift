/// Encoding of the tensor table (spec §4) and tensor data (spec §5) sections.
package enum TensorSections {
    /// The canonical table and data: in table order, each tensor's values at the next multiple
    /// of 64, then (int8) its scales at the next multiple of 64; the data ends padded to 64.
    package static func encode(_ tensors: [Tensor]) throws(ModelFormatError) -> (table: [UInt8], data: [UInt8]) {
        var dataSize = 0
        var layout: [(data: Int, dataSize: Int, scale: Int, scaleSize: Int)] = []
        for t in tensors {
            let valuesSize = t.count * t.dtype.elementSize
            let dataOffset = dataSize
            dataSize = Format.align64(dataOffset + valuesSize)!
            var scaleOffset = 0, scaleSize = 0
            if case .int8(_, let scales) = t.storage {
                scaleOffset = dataSize
                scaleSize = scales.count * 4
                dataSize = Format.align64(scaleOffset + scaleSize)!
            }
            layout.append((dataOffset, valuesSize, scaleOffset, scaleSize))
            if dataSize > Format.maxTensorDataBytes {
                throw .limitExceeded("the tensor data would exceed \(Format.maxTensorDataBytes) bytes (spec §9) at tensor \"\(t.name)\"")
            }
        }

        var table = ByteWriter()
        table.u32(UInt32(tensors.count))
        table.u32(0)
        for (t, place) in zip(tensors, layout) {
            let name = Array(t.name.utf8)
            table.raw(name)
            table.zeros(64 - name.count)
            table.u8(t.dtype.rawValue)
            table.u8(UInt8(t.shape.count))
            table.u16(0)
            for d in 0..<4 { table.u32(d < t.shape.count ? UInt32(t.shape[d]) : 0) }
            table.u32(0)
            table.u64(UInt64(place.data))
            table.u64(UInt64(place.dataSize))
            table.u64(UInt64(place.scale))
            table.u64(UInt64(place.scaleSize))
            table.u64(0)
        }

        var data = [UInt8](repeating: 0, count: dataSize)
        data.withUnsafeMutableBytes { out in
            for (t, place) in zip(tensors, layout) {
                let dst = out.baseAddress! + place.data
                switch t.storage {
                case .f32(let v): copyLittleEndian(v.map(\.bitPattern), to: dst)
                case .f16(let v): copyLittleEndian(v, to: dst)
                case .bf16(let v): copyLittleEndian(v, to: dst)
                case .int8(let v, let scales):
                    v.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    copyLittleEndian(scales.map(\.bitPattern), to: out.baseAddress! + place.scale)
                }
            }
        }
        return (table.bytes, data)
    }

    private static func copyLittleEndian<T: FixedWidthInteger>(_ values: [T], to dst: UnsafeMutableRawPointer) {
        #if _endian(little)
        values.withUnsafeBytes { if $0.count > 0 { dst.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        #else
        for (i, v) in values.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self) }
        #endif
    }
}
