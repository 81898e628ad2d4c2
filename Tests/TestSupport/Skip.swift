import Foundation
import XCTest

/// Skips a test whose precondition is missing, except under CI (`CI=true`), where a missing tool
/// or fixture is a failure: CI must run everything.
public func skipUnless(_ condition: Bool, _ why: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard !condition else { return }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        XCTFail("required under CI: \(why)", file: file, line: line)
        throw CIRequirement(why: why)
    }
    throw XCTSkip(why, file: file, line: line)
}

public struct CIRequirement: Error { public var why: String }
