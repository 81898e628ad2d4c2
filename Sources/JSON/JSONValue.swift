/// A JSON document with object keys kept in order, so rendering is byte-stable.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Integers stay exact; other numbers are doubles.
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (l: JSONValue, r: JSONValue) -> Bool {
        switch (l, r) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let kv) = self { return kv.first(where: { $0.0 == key })?.1 }
        return nil
    }

    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// Builds objects without repeating `.object([...])` boilerplate at call sites.
public struct JSONObject {
    public private(set) var fields: [(String, JSONValue)] = []
    public init() {}
    public mutating func set(_ key: String, _ value: JSONValue) { fields.append((key, value)) }
    public mutating func set(_ key: String, _ value: String) { fields.append((key, .string(value))) }
    public mutating func set(_ key: String, _ value: Int) { fields.append((key, .int(value))) }
    public mutating func set(_ key: String, _ value: Bool) { fields.append((key, .bool(value))) }
    public mutating func setIfPresent(_ key: String, _ value: String?) { if let value { set(key, value) } }
    public var value: JSONValue { .object(fields) }
}
