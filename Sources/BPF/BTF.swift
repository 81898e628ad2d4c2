// include/uapi/linux/btf.h: just enough BTF to read the map definitions clang writes for
// `struct { __uint(type, ...); __type(key, ...); ... } name SEC(".maps")`.

struct BTF {
    struct TypeInfo { var kind: UInt32; var nameOff: UInt32; var sizeOrType: UInt32; var vlen: Int; var dataAt: Int }
    let bytes: [UInt8]
    var types: [TypeInfo] = [TypeInfo(kind: 0, nameOff: 0, sizeOrType: 0, vlen: 0, dataAt: 0)]   // id 0 is void
    let strOff: Int, strLen: Int

    static let INT: UInt32 = 1, PTR: UInt32 = 2, ARRAY: UInt32 = 3, STRUCT: UInt32 = 4, UNION: UInt32 = 5, ENUM: UInt32 = 6
    static let FWD: UInt32 = 7, TYPEDEF: UInt32 = 8, VOLATILE: UInt32 = 9, CONST: UInt32 = 10, RESTRICT: UInt32 = 11
    static let FUNC: UInt32 = 12, FUNC_PROTO: UInt32 = 13, VAR: UInt32 = 14, DATASEC: UInt32 = 15, FLOAT: UInt32 = 16
    static let DECL_TAG: UInt32 = 17, TYPE_TAG: UInt32 = 18, ENUM64: UInt32 = 19

    init(_ b: [UInt8]) throws {
        bytes = b
        guard b.count >= 24, b.le16(0) == 0xeb9f else { throw BPFLoadError("BTF: bad magic") }
        let hdr = Int(b.le32(4)), typeOff = Int(b.le32(8)), typeLen = Int(b.le32(12))
        strOff = hdr + Int(b.le32(16)); strLen = Int(b.le32(20))
        guard hdr + typeOff + typeLen <= b.count, strOff + strLen <= b.count else { throw BPFLoadError("BTF: sections out of bounds") }
        var o = hdr + typeOff
        let end = o + typeLen
        while o + 12 <= end {
            let info = b.le32(o + 4)
            let kind = (info >> 24) & 0x1f, vlen = Int(info & 0xffff)
            let t = TypeInfo(kind: kind, nameOff: b.le32(o), sizeOrType: b.le32(o + 8), vlen: vlen, dataAt: o + 12)
            o += 12
            switch kind {
            case Self.INT, Self.VAR, Self.DECL_TAG: o += 4
            case Self.ARRAY: o += 12
            case Self.STRUCT, Self.UNION, Self.DATASEC, Self.ENUM64: o += 12 * vlen
            case Self.ENUM, Self.FUNC_PROTO: o += 8 * vlen
            case Self.PTR, Self.FWD, Self.TYPEDEF, Self.VOLATILE, Self.CONST, Self.RESTRICT, Self.FUNC, Self.FLOAT, Self.TYPE_TAG: break
            default: throw BPFLoadError("BTF: unknown kind \(kind)")
            }
            guard o <= end else { throw BPFLoadError("BTF: type \(types.count) runs past the type section") }
            types.append(t)
        }
    }

    func string(_ off: UInt32) -> String {
        var i = strOff + Int(off), s: [UInt8] = []
        while i < strOff + strLen, bytes[i] != 0 { s.append(bytes[i]); i += 1 }
        return String(decoding: s, as: UTF8.self)
    }

    func type(_ id: UInt32) throws -> TypeInfo {
        guard Int(id) < types.count else { throw BPFLoadError("BTF: type id \(id) out of range") }
        return types[Int(id)]
    }

    /// Through typedefs and qualifiers to the type itself.
    func resolve(_ id: UInt32) throws -> (id: UInt32, t: TypeInfo) {
        var id = id, hops = 0
        while true {
            let t = try type(id)
            guard [Self.TYPEDEF, Self.VOLATILE, Self.CONST, Self.RESTRICT, Self.TYPE_TAG].contains(t.kind), hops < 32 else { return (id, t) }
            id = t.sizeOrType; hops += 1
        }
    }

    func size(_ id: UInt32, depth: Int = 0) throws -> Int {
        guard depth < 32 else { throw BPFLoadError("BTF: type \(id) nests too deep") }
        let (_, t) = try resolve(id)
        switch t.kind {
        case Self.INT, Self.STRUCT, Self.UNION, Self.ENUM, Self.ENUM64, Self.FLOAT, Self.DATASEC: return Int(t.sizeOrType)
        case Self.PTR: return 8
        case Self.ARRAY:
            let (n, overflow) = Int(bytes.le32(t.dataAt + 8)).multipliedReportingOverflow(by: try size(bytes.le32(t.dataAt), depth: depth + 1))
            guard !overflow, n <= 1 << 31 else { throw BPFLoadError("BTF: array type \(id) too large") }
            return n
        default: throw BPFLoadError("BTF: type \(id) has no size")
        }
    }

    /// Map definitions in the `.maps` section by variable name: `__uint(f, N)` is a pointer to an
    /// array of N elements; `__type(f, T)` a pointer to T.
    func mapDefinitions() throws -> [String: (def: [String: Int], offset: Int)] {
        var out: [String: (def: [String: Int], offset: Int)] = [:]
        for t in types where t.kind == Self.DATASEC && string(t.nameOff) == ".maps" {
            for k in 0..<t.vlen {
                let e = t.dataAt + 12 * k
                let v = try type(bytes.le32(e))
                guard v.kind == Self.VAR else { continue }
                let (_, st) = try resolve(v.sizeOrType)
                guard st.kind == Self.STRUCT else { throw BPFLoadError("map \(string(v.nameOff)): its definition is not a struct") }
                var def: [String: Int] = [:]
                for m in 0..<st.vlen {
                    let mo = st.dataAt + 12 * m
                    let name = string(bytes.le32(mo))
                    let (_, p) = try resolve(bytes.le32(mo + 4))
                    guard p.kind == Self.PTR else { throw BPFLoadError("map \(string(v.nameOff)): member \(name) is not a __uint/__type pointer") }
                    let (_, target) = try resolve(p.sizeOrType)
                    if name == "key" || name == "value" {
                        def[name + "_size"] = try size(p.sizeOrType)
                    } else if target.kind == Self.ARRAY {
                        def[name] = Int(bytes.le32(target.dataAt + 8))
                    } else {
                        throw BPFLoadError("map \(string(v.nameOff)): member \(name) not supported yet")
                    }
                }
                out[string(v.nameOff)] = (def, Int(bytes.le32(e + 4)))
            }
        }
        return out
    }
}

extension Array where Element == UInt8 {
    @inline(__always) func le16(_ o: Int) -> UInt16 { UInt16(self[o]) | UInt16(self[o + 1]) << 8 }
    @inline(__always) func le64(_ o: Int) -> UInt64 { UInt64(le32(o)) | UInt64(le32(o + 4)) << 32 }
}
