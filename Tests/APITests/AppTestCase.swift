import API
import Foundation
import HTTPServer
import JSON
import Store
import XCTest

/// An App on a fresh database in a temporary folder, driven through `respond` without sockets.
class AppTestCase: XCTestCase {
    var dir: URL!
    var store: Store!
    var app: App!
    var dbPath: String { dir.appendingPathComponent("t.db").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try Store(path: dbPath)
        app = try App(store: store)
    }

    override func tearDownWithError() throws {
        store.close()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Closes and opens the database again, as a restart would.
    func reopen() throws {
        store.close()
        store = try Store(path: dbPath)
        app = try App(store: store)
    }

    struct Reply {
        var status: Int
        var json: JSONValue?
        var raw: String
        var headers: [HTTPHeader]
        var requestID: String?
    }

    @discardableResult
    func call(_ method: String, _ target: String, _ body: String? = nil, type: String? = nil, accept: String? = nil) -> Reply {
        var h: [HTTPHeader] = []
        if let type { h.append(HTTPHeader("content-type", type)) }
        if let accept { h.append(HTTPHeader("accept", accept)) }
        let r = app.respond(to: HTTPRequest(method: method, target: target, headers: h, body: Array((body ?? "").utf8)))
        return Reply(status: r.status, json: try? JSONParser.parse(r.body), raw: String(decoding: r.body, as: UTF8.self), headers: r.headers, requestID: r.requestID)
    }
}
