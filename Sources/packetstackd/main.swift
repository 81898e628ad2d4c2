import HTTPServer
import Glibc

struct H: HTTPHandler {
    func isInline(_ r: HTTPRequest) -> Bool { r.path == "/healthz" }
    func respond(to r: HTTPRequest) -> HTTPResponse {
        if r.path == "/slow" { usleep(200_000) }
        return HTTPResponse(status: 200, contentType: "application/json", body: "{\"status\":\"ok\",\"path\":\"\(r.path)\",\"len\":\(r.body.count)}")
    }
}
HTTPServer.blockShutdownSignals()
var c = ServerConfig(); c.port = 18080; c.headerTimeoutMs = 1000
let s = try HTTPServer(config: c, handler: H())
s.run()
print("bye")
