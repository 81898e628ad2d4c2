@testable import API
import XCTest

/// The query string as handlers read it: plain and escaped values, empty pieces, and the three refusals.
final class QueryTests: XCTestCase {
    func testValuesAsGiven() throws {
        var q = try Query("&trace=summary&&sync=&t=a+b%20c&flag&")
        XCTAssertEqual(q.string("trace"), "summary")
        XCTAssertNil(q.string("sync"))          // given empty: as if absent
        XCTAssertEqual(q.string("t"), "a b c")
        XCTAssertTrue(q.has("flag"))
        XCTAssertNil(q.string("nope"))
        XCTAssertNil(q.string("flag"))
        XCTAssertNoThrow(try q.finish())
        var empty = try Query("")
        XCTAssertNil(empty.string("trace"))
        XCTAssertNoThrow(try empty.finish())
    }

    func testRefusals() {
        func problem(_ raw: String, read: [String] = []) -> Problem? {
            do {
                var q = try Query(raw)
                for k in read { _ = q.string(k) }
                try q.finish()
                return nil
            } catch { return error }
        }
        func slug(_ raw: String, read: [String] = []) -> String? { problem(raw, read: read)?.slug }
        XCTAssertEqual(slug("a=1&a=2"), "invalid-query")
        XCTAssertEqual(slug("a=%zz"), "invalid-query")
        XCTAssertEqual(slug("%zz=1"), "invalid-query")
        // Names nobody reads: the first in order is named.
        XCTAssertEqual(slug("z=1&b=2&a=3", read: ["a"]), "unknown-parameter")
        XCTAssertEqual(problem("z=1&b=2&a=3", read: ["a"])?.detail, "unknown query parameter b")
        XCTAssertNil(slug("z=1&b=2", read: ["z", "b"]))
    }
}
