import JSON
import XCTest

final class JSONTests: XCTestCase {
    func testRoundTripKeepsKeyOrder() throws {
        let text = #"{"b":1,"a":[true,false,null,"x\"y\n\u00e9"],"c":{"z":-2,"y":1.5}}"#
        let v = try JSONParser.parse(text)
        XCTAssertEqual(v.rendered(), #"{"b":1,"a":[true,false,null,"x\"y\né"],"c":{"z":-2,"y":1.5}}"#)
        XCTAssertEqual(v["c"]?["z"], .int(-2))
    }

    /// Escapes (control characters as \u00XX), integers at their limits, indentation.
    func testRenderingEdges() {
        XCTAssertEqual(JSONValue.string("a\u{1f}b\\\t\r\u{0}é🙂").rendered(), #""a\u001fb\\\t\r\u0000é🙂""#)
        XCTAssertEqual(JSONValue.array([.int(Int.min), .int(Int.max), .int(0), .int(-7)]).rendered(), "[-9223372036854775808,9223372036854775807,0,-7]")
        XCTAssertEqual(JSONValue.object([("a", .array([.int(1)])), ("b", .object([]))]).rendered(pretty: true), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}")
    }

    func testSyntaxErrorsCarryLineAndColumn() {
        let cases: [(String, Int, Int, String)] = [
            ("{\"a\":1,}", 1, 8, "expected a string key"),
            ("{\n  \"a\": tru\n}", 2, 8, "invalid literal"),
            ("[1 2]", 1, 4, "expected ',' or ']'"),
            ("", 1, 1, "unexpected end of input"),
            ("{\"a\":1} x", 1, 9, "unexpected data after"),
            ("{\"a\":01}", 1, 7, "expected ',' or '}'"),
            ("{\"a\":1,\"a\":2}", 1, 13, "duplicate key"),
            ("\"\u{01}\"", 1, 2, "control character"),
            ("[1e400]", 1, 7, "number out of range"),
        ]
        for (text, line, col, msg) in cases {
            XCTAssertThrowsError(try JSONParser.parse(text), text) { e in
                let s = e as! JSONSyntaxError
                XCTAssertEqual(s.line, line, text)
                XCTAssertEqual(s.column, col, text)
                XCTAssertTrue(s.message.contains(msg), "\(text): \(s.message)")
            }
        }
    }

    func testDeepNestingIsRefusedNotCrashed() {
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { XCTAssertTrue(($0 as! JSONSyntaxError).message.contains("nesting")) }
    }

    func testFieldReaderRejectsUnknownAndMistypedFields() throws {
        var r = try FieldReader(try JSONParser.parse(#"{"name":"x","extra":1}"#))
        XCTAssertEqual(try r.requiredString("name"), "x")
        XCTAssertThrowsError(try r.finish()) { XCTAssertEqual(($0 as! JSONShapeError).path, "/extra") }
        var t = try FieldReader(try JSONParser.parse(#"{"n":"1"}"#))
        XCTAssertThrowsError(try t.int("n")) { XCTAssertEqual(($0 as! JSONShapeError).message, "expected an integer, got string") }
        var u = try FieldReader(try JSONParser.parse(#"{"n":70}"#))
        XCTAssertThrowsError(try u.int("n", in: 1...64)) { XCTAssertEqual(($0 as! JSONShapeError).path, "/n") }
    }
}
