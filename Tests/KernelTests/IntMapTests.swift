@testable import Kernel
import XCTest

/// IntMap against Dictionary: random inserts, overwrites and removals (the backward shift of
/// removal is where an open-addressing table goes wrong) must leave the same contents.
final class IntMapTests: XCTestCase {
    func testAgreesWithDictionaryUnderRandomChanges() {
        var rng = StackRandom(seed: 7)
        var map = IntMap<Int>(), dict: [UInt64: Int] = [:]
        // Few distinct keys, so probe runs collide, wrap around the table and get cut by removals.
        for step in 0..<20_000 {
            let key = rng.next() % 300, op = rng.next() % 3
            if op == 0 { map[key] = nil; dict[key] = nil } else { map[key] = step; dict[key] = step }
            if step % 97 == 0 {
                for k in 0..<300 as Range<UInt64> { XCTAssertEqual(map[k], dict[k], "key \(k) after step \(step)") }
            }
        }
        XCTAssertEqual(map.count, dict.count)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: map.entries.map { ($0.key, $0.value) }), dict)
        for k in dict.keys { map[k] = nil }
        XCTAssertEqual(map.count, 0)
        XCTAssertNil(map[dict.keys.first ?? 0])
    }
}
