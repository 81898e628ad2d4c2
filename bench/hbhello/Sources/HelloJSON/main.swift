import Hummingbird

// GET /healthz -> {"status":"ok"}, as PacketStack answers it. HelloJSON [port]
struct Health: ResponseEncodable { let status: String }

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 18782 : 18782
let router = Router()
router.get("healthz") { _, _ in Health(status: "ok") }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
