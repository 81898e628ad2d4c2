import Foundation
import FuzzTargets
import XCTest

/// Every input in Tests/Fuzz/Corpus/TARGET (the seeds, and each crash fuzzing found, kept after
/// its fix) through its harness: a regression here is the crash or broken property coming back.
final class FuzzCorpusTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Corpus").standardized

    func testEveryTargetHasASeedCorpus() throws {
        for t in FuzzTarget.allCases {
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent(t.rawValue).path)
            XCTAssertGreaterThanOrEqual(files.count, 8, "\(t.rawValue): seed corpus too small")
        }
    }

    func testCorporaReplay() throws {
        for t in FuzzTarget.allCases {
            let dir = Self.corpus.appendingPathComponent(t.rawValue)
            for f in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
                t.run(Array(try Data(contentsOf: dir.appendingPathComponent(f))))
            }
        }
    }
}
