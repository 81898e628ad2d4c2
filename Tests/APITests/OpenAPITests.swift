import API
import Foundation
import Store
import TestSupport
import XCTest

/// The OpenAPI document is the API's single source of truth: routes and document must agree.
final class OpenAPITests: XCTestCase {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../openapi/openapi.yaml").standardized

    /// "METHOD /path" for every operation under `paths:` (a two-level indentation walk of the YAML).
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var ops = Set<String>()
        var inPaths = false
        var path: String? = nil
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, let f = line.first, f != " " { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let p = path, line.hasPrefix("    ") && !line.hasPrefix("     ") && line.hasSuffix(":") {
                let m = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "delete", "patch"].contains(m) { ops.insert("\(m.uppercased()) \(p)") }
            }
        }
        return ops
    }

    func testEveryRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-oa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Store(path: dir.appendingPathComponent("t.db").path)
        defer { store.close() }
        let app = try App(store: store)
        let served = Set(app.routeList)
        let documented = Self.documentedOperations(try String(contentsOf: Self.file, encoding: .utf8))
        XCTAssertEqual(served.count, 73)
        XCTAssertEqual(served.subtracting(documented), [], "routes the document lacks")
        XCTAssertEqual(documented.subtracting(served), [], "documented routes the server lacks")
    }

    func testServedDocumentEqualsTheFile() throws {
        XCTAssertEqual(OpenAPIDocument.yaml + "\n", try String(contentsOf: Self.file, encoding: .utf8), "run scripts/embed.sh")
    }

    func testDocumentPassesOpenAPISpecValidator() throws {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import openapi_spec_validator"]
        check.standardError = FileHandle.nullDevice
        try check.run(); check.waitUntilExit()
        try skipUnless(check.terminationStatus == 0, "openapi-spec-validator is not installed (pip install openapi-spec-validator)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-m", "openapi_spec_validator", Self.file.path]
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run(); p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("OK"), text)
    }
}
