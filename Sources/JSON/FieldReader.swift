/// Why a JSON document does not fit the expected shape; `path` is a JSON Pointer.
public struct JSONShapeError: Error, Equatable, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
}

/// Reads an object's fields by name and rejects the ones nobody asked for.
public struct FieldReader {
    public let path: String
    private let fields: [(String, JSONValue)]
    /// Which fields were read, by position (a set of names hashed each key asked for, most of
    /// them absent): the first 64 in a mask, any more in `usedMore`.
    private var usedMask: UInt64 = 0
    private var usedMore: [Bool] = []

    public init(_ value: JSONValue, path: String = "") throws(JSONShapeError) {
        guard case .object(let f) = value else {
            throw JSONShapeError(path: path.isEmpty ? "/" : path, message: "expected an object, got \(value.typeName)")
        }
        self.fields = f; self.path = path
    }

    public func pointer(_ key: String) -> String { path + "/" + key }

    public mutating func raw(_ key: String) -> JSONValue? {
        guard let i = fields.firstIndex(where: { $0.0 == key }) else { return nil }
        markUsed(i)
        let v = fields[i].1
        if case .null = v { return nil }
        return v
    }

    private mutating func markUsed(_ i: Int) {
        if i < 64 { usedMask |= 1 << UInt64(i); return }
        if usedMore.isEmpty { usedMore = Array(repeating: false, count: fields.count) }
        usedMore[i] = true
    }

    private func isUsed(_ i: Int) -> Bool { i < 64 ? usedMask & (1 << UInt64(i)) != 0 : !usedMore.isEmpty && usedMore[i] }

    public mutating func string(_ key: String) throws(JSONShapeError) -> String? {
        guard let v = raw(key) else { return nil }
        guard case .string(let s) = v else { throw JSONShapeError(path: pointer(key), message: "expected a string, got \(v.typeName)") }
        return s
    }
    public mutating func requiredString(_ key: String) throws(JSONShapeError) -> String {
        guard let s = try string(key) else { throw JSONShapeError(path: pointer(key), message: "is required") }
        return s
    }
    public mutating func int(_ key: String, in range: ClosedRange<Int>? = nil) throws(JSONShapeError) -> Int? {
        guard let v = raw(key) else { return nil }
        guard case .int(let n) = v else { throw JSONShapeError(path: pointer(key), message: "expected an integer, got \(v.typeName)") }
        if let range, !range.contains(n) {
            throw JSONShapeError(path: pointer(key), message: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return n
    }
    public mutating func bool(_ key: String) throws(JSONShapeError) -> Bool? {
        guard let v = raw(key) else { return nil }
        guard case .bool(let b) = v else { throw JSONShapeError(path: pointer(key), message: "expected a boolean, got \(v.typeName)") }
        return b
    }
    public mutating func array(_ key: String) throws(JSONShapeError) -> [JSONValue]? {
        guard let v = raw(key) else { return nil }
        guard case .array(let a) = v else { throw JSONShapeError(path: pointer(key), message: "expected an array, got \(v.typeName)") }
        return a
    }
    public mutating func object(_ key: String) throws(JSONShapeError) -> FieldReader? {
        guard let v = raw(key) else { return nil }
        return try FieldReader(v, path: pointer(key))
    }

    /// Call last: any field not read is an unknown field.
    public func finish() throws(JSONShapeError) {
        if let i = fields.indices.first(where: { !isUsed($0) }) {
            throw JSONShapeError(path: pointer(fields[i].0), message: "unknown field \"\(fields[i].0)\"")
        }
    }
}
