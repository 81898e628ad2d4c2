import API
import Foundation
import HTTPServer
import Store

// Signals are blocked before any thread starts so that only the loop's signalfd sees them.
HTTPServer.blockShutdownSignals()

func log(_ s: String) { FileHandle.standardError.write(Data("packetstackd: \(s)\n".utf8)) }

let options: Options
do { options = try Options.parse(Array(CommandLine.arguments.dropFirst())) } catch {
    if error.message.isEmpty { print(Options.usage); exit(0) }
    log(error.message); FileHandle.standardError.write(Data((Options.usage + "\n").utf8)); exit(2)
}

let store: Store
do { store = try Store(path: options.dbPath, traceQueue: options.traceQueue, traceQueueBytes: options.traceQueueBytes, overflow: options.traceOverflow) } catch {
    log("cannot open database \(options.dbPath): \(error)"); exit(1)
}
if !store.appliedMigrations.isEmpty { log("applied migrations \(store.appliedMigrations) to \(options.dbPath)") }

let app: App
let serverCounters = ServerCounters()
do { app = try App(store: store, limits: options.limits, auth: Auth(token: options.token, protectReads: options.protectReads),
                    requestLog: RequestLog(format: options.accessLog), serverCounters: serverCounters) } catch { log("cannot load stacks: \(error)"); exit(1) }
for p in app.loadProblems { log(p) }
app.startMaintenance()

let server: HTTPServer
do { server = try HTTPServer(config: options.server, handler: app, counters: serverCounters) } catch { log("\(error)"); exit(1) }
log("listening on http://\(options.server.host):\(server.boundPort) (HTTP/1.1 and h2c), database \(options.dbPath)"
    + (options.token == nil ? "" : ", API token required" + (options.protectReads ? " for every request" : " for changes")))
server.run()
app.checkpoint()
store.close()
log("stopped")
exit(0)
