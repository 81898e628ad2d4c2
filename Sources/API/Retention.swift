import Foundation
import Store

extension App {
    /// One retention pass: each stack with a `retention` in its document loses the traces older
    /// than max_age_s and those past its newest max_traces, in the store's small delete batches
    /// (writes go on between them), and gets that much of its trace quota back. Answers how many
    /// went per stack. packetstackd runs it every second; tests call it with their own clock.
    @discardableResult
    public func enforceRetention(now: Date = Date()) -> [String: Int] {
        var out: [String: Int] = [:]
        for e in registry.all() {
            let c = e.stack.config   // immutable: no lock
            guard c.retentionMaxAgeS != nil || c.retentionMaxTraces != nil else { continue }
            let cutoff = c.retentionMaxAgeS.map { Timestamp.format(now.addingTimeInterval(-Double($0))) }
            do {
                guard let cut = try store.retentionCut(stackID: e.record.id, maxTraces: c.retentionMaxTraces, olderThan: cutoff) else { continue }
                let n = try store.deleteTraces(stackID: e.record.id, upTo: cut)
                guard n > 0 else { continue }
                e.withStack { _ in e.storedTraces = max(0, e.storedTraces - n) }
                out[e.record.name] = n
                retentionDeleted.add(n)
            } catch {
                FileHandle.standardError.write(Data("retention for stack \(e.record.name) not applied: \(error)\n".utf8))
            }
        }
        return out
    }

    /// Runs `enforceRetention` and `checkpoint` every `seconds` on its own thread, for the life of the process.
    public func startMaintenance(every seconds: Double = 1) {
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: seconds)
                enforceRetention()
                checkpoint(periodic: true)
            }
        }
        t.name = "maintenance"
        t.start()
    }
}
