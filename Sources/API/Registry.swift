import Foundation
import Glibc
import JSON
import Kernel
import NFTables
import Store
import Synchronization

/// A live stack and what it was built from. `lock` serializes simulation steps on it.
final class StackEntry: @unchecked Sendable {
    let record: StackRecord
    /// The document as it stands now (routes, neighbours and sockets change through the API).
    var config: StackConfig
    let stack: Stack
    let lock = NSLock()
    /// Set under `lock` when the stack is deleted: work that finishes later stores nothing.
    var deleted = false
    /// Traces stored or on their way, counted under `lock` against `--max-traces`.
    var storedTraces = 0
    /// Injected packets by outcome and drop reason (under `lock`), for /metrics.
    var outcomes: [OutcomeKey: Int] = [:]
    struct OutcomeKey: Hashable { let outcome: Outcome; let dropReason: DropReason? }

    init(record: StackRecord, config: StackConfig, stack: Stack) {
        self.record = record; self.config = config; self.stack = stack
    }

    /// Bumped by every locked use of the stack (under `lock`); the checkpoint pass saves a stack
    /// whose count moved since it last saved it.
    var uses = 0
    var usesCheckpointed = 0
    /// Before this (monotonic ns) the periodic pass leaves the stack alone: a checkpoint costs
    /// time in proportion to the state (a socket with 400,000 unread datagrams took a third of a
    /// core at one a second), so the next waits 19 times what the last took (5% of a core at most).
    var checkpointNotBeforeNs: UInt64 = 0

    /// The thread that holds `lock` through a whole request (`tryHolding`; 0: none): its own
    /// `withStack` calls inside run without taking the lock again.
    private let holder = Atomic<UInt>(0)

    /// Runs `body` with the stack locked; typed throws so a handler's Problem passes through unchanged.
    func withStack<T, E: Error>(_ body: (Stack) throws(E) -> T) throws(E) -> T {
        if holder.load(ordering: .relaxed) == UInt(pthread_self()) {
            uses &+= 1
            return try body(stack)
        }
        lock.lock(); defer { lock.unlock() }
        uses &+= 1
        return try body(stack)
    }

    /// Runs `body` holding the stack's lock throughout if it is free now, else answers nil at once:
    /// how the loop thread runs a small injection without ever waiting behind a worker.
    func tryHolding<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T? {
        guard lock.try() else { return nil }
        holder.store(UInt(pthread_self()), ordering: .relaxed)
        defer { holder.store(0, ordering: .relaxed); lock.unlock() }
        return try body()
    }
}

/// The stacks of this process, by name, kept in step with the store.
final class Registry: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: StackEntry] = [:]
    private var order: [String] = []
    /// Links between stacks' devices, and each one's loss draw state (from its seed).
    private var links: [LinkRecord] = []
    private var lossState: [Int64: UInt64] = [:]
    /// When each direction of a rated link is free again (virtual ns), by link id and sending end.
    private var linkBusy: [String: UInt64] = [:]
    let store: Store
    let limits: App.Limits

    init(store: Store, limits: App.Limits = App.Limits()) { self.store = store; self.limits = limits }

    /// Rebuilds every stored stack. A stored stack the model cannot build is reported and kept in the store.
    func load() throws -> [String] {
        var problems: [String] = []
        let counts = try store.traceCounts()
        for rec in try store.stacks() {
            do {
                let config = try StackDocument.decode(try JSONParser.parse(rec.config))
                let stack = try Stack(config: config)
                // The ruleset in force is the latest stored version, or the checkpoint grown from it
                // (its counters, quotas and set elements); the clock goes on from the checkpoint's.
                let latest = try store.latestRulesetVersion(stackID: rec.id)
                let state = try store.state(stackID: rec.id)
                if let state { _ = stack.advance(toNs: state.clockNs) }
                var checkpointRuleset = state.map { $0.version == (latest?.version ?? 0) && !$0.ruleset.isEmpty } ?? false
                if let state, checkpointRuleset {
                    // A checkpoint this parser cannot read back must not cost the stack: its stored version instead.
                    do { stack.loadRuleset(try NFParser.stored(state.ruleset)) } catch {
                        problems.append("stack \(rec.name): the checkpoint's ruleset does not load (\(error)); version \(latest?.version ?? 0) loaded without its state")
                        checkpointRuleset = false
                        if let latest { stack.loadRuleset(try NFParser.stored(latest.ruleset)) }
                    }
                } else if let latest {
                    stack.loadRuleset(try NFParser.stored(latest.ruleset))
                }
                if let state {
                    switch state.conntrack {
                    case .binary(let b):
                        if !stack.restoreConntrack(checkpoint: b) { problems.append("stack \(rec.name): the checkpoint's conntrack table does not read; it starts empty") }
                    case .json(let t): stack.restoreConntrack(App.connRecords(t))   // a checkpoint stored before the binary form
                    }
                    stack.restoreBPFMaps(App.mapContents(state.bpfMaps))
                    if let r = App.runtime(state.runtime, stack: rec.name) { stack.restoreRuntime(r, ruleState: checkpointRuleset) }
                }
                let e = StackEntry(record: rec, config: config, stack: stack)
                e.storedTraces = counts[rec.id] ?? 0
                add(e)
            } catch {
                problems.append("stack \(rec.name) not rebuilt (kept in the store): \(error)")
            }
        }
        for l in try store.links() where entries[l.aStack] != nil && entries[l.bStack] != nil {
            links.append(l)
            lossState[l.id] = UInt64(bitPattern: l.seed)
        }
        return problems
    }

    func allLinks() -> [LinkRecord] {
        lock.lock(); defer { lock.unlock() }
        return links
    }

    /// Stores and keeps a link; a device takes part in at most one.
    func addLink(_ l: LinkRecord) throws(Problem) -> LinkRecord {
        lock.lock(); defer { lock.unlock() }
        for (end, stack, dev) in [("a", l.aStack, l.aDev), ("b", l.bStack, l.bDev)] {
            guard let e = entries[stack] else { throw Problem.unprocessable("no stack named \(stack)", pointer: "/\(end)/stack") }
            guard let d = e.stack.device(named: dev) else { throw Problem.unprocessable("stack \(stack) has no device \(dev)", pointer: "/\(end)/dev") }
            // What leaves by lo comes straight back: it has no far end.
            guard !d.isLoopback else { throw Problem.unprocessable("lo links to nothing: what leaves by it comes back to its own stack", pointer: "/\(end)/dev") }
            if links.contains(where: { ($0.aStack == stack && $0.aDev == dev) || ($0.bStack == stack && $0.bDev == dev) }) {
                throw Problem(status: 409, slug: "conflict", detail: "\(stack) \(dev) is linked already")
            }
        }
        guard l.aStack != l.bStack || l.aDev != l.bDev else { throw Problem.unprocessable("a link joins two different devices", pointer: "/b") }
        let stored: LinkRecord
        do { stored = try store.insertLink(l, aStackID: entries[l.aStack]!.record.id, bStackID: entries[l.bStack]!.record.id) } catch {
            throw Problem.storage("link not stored: \(error)")
        }
        links.append(stored)
        lossState[stored.id] = UInt64(bitPattern: stored.seed)
        return stored
    }

    func removeLink(id: Int64) throws(Problem) {
        lock.lock(); defer { lock.unlock() }
        guard links.contains(where: { $0.id == id }) else { throw Problem.notFound("no link \(id)") }
        do { _ = try store.deleteLink(id: id) } catch { throw Problem.storage("link not deleted: \(error)") }
        links.removeAll { $0.id == id }
        lossState[id] = nil
    }

    /// A frame ready at `t` takes a rated link's direction in turn: when it arrives at the far
    /// end's wire (before the delay).
    func linkSerialize(_ l: LinkRecord, from stack: String, dev: String, readyAt t: UInt64, frameLen: Int) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        guard l.rateMbps > 0 else { return t }
        let key = "\(l.id) \(stack) \(dev)"
        let done = max(t, linkBusy[key] ?? 0) &+ NetDevice.wireNs(frameLen, mbps: Int(l.rateMbps))
        linkBusy[key] = done
        return done
    }

    /// The far end of the link a stack's device is on, whether this frame is lost on it, and
    /// whether it skips the delay (reordered): SplitMix64 over the link's seed, a draw for each
    /// that the link has a chance of.
    func crossLink(from stack: String, dev: String) -> (link: LinkRecord, stack: String, dev: String, lost: Bool, reordered: Bool)? {
        lock.lock(); defer { lock.unlock() }
        guard let l = links.first(where: { ($0.aStack == stack && $0.aDev == dev) || ($0.bStack == stack && $0.bDev == dev) }) else { return nil }
        func draw(_ ppm: Int64) -> Bool {
            guard ppm > 0 else { return false }
            var z = (lossState[l.id] ?? 0) &+ 0x9e37_79b9_7f4a_7c15
            lossState[l.id] = z
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            return z % 1_000_000 < UInt64(ppm)
        }
        let lost = draw(l.lossPPM)
        let reordered = !lost && draw(l.reorderPPM)
        let far = l.aStack == stack && l.aDev == dev ? (l.bStack, l.bDev) : (l.aStack, l.aDev)
        return (l, far.0, far.1, lost, reordered)
    }

    private func add(_ e: StackEntry) {
        entries[e.record.name] = e
        order.append(e.record.name)
    }

    func get(_ name: String) -> StackEntry? {
        lock.lock(); defer { lock.unlock() }
        return entries[name]
    }

    /// The stack if the registry's lock is free now and no link joins it to another (a frame
    /// crossing one takes the far stack's lock), else nil: for work that must not wait.
    func getUnlinkedWithoutWaiting(_ name: String) -> StackEntry? {
        guard lock.try() else { return nil }
        defer { lock.unlock() }
        guard !links.contains(where: { $0.aStack == name || $0.bStack == name }) else { return nil }
        return entries[name]
    }

    func all() -> [StackEntry] {
        lock.lock(); defer { lock.unlock() }
        return order.compactMap { entries[$0] }
    }

    /// Builds, stores and registers a stack; nothing is stored unless the stack builds.
    func create(_ config: StackConfig) throws(Problem) -> StackEntry {
        guard config.devices.count <= limits.maxDevices else {
            throw Problem.unprocessable("at most \(limits.maxDevices) devices per stack (--max-devices)", pointer: "/devices")
        }
        let stack: Stack
        do { stack = try Stack(config: config) } catch {
            throw Problem.unprocessable(error.message, pointer: error.path)
        }
        lock.lock(); defer { lock.unlock() }
        guard entries[config.name] == nil else {
            throw Problem(status: 409, slug: "conflict", detail: "a stack named \(config.name) already exists")
        }
        guard entries.count < limits.maxStacks else {
            throw Problem(status: 429, slug: "too-many-stacks", detail: "this server holds at most \(limits.maxStacks) stacks (--max-stacks); delete one first")
        }
        let rec: StackRecord
        do { rec = try store.insertStack(name: config.name, config: StackDocument.encode(config).rendered()) } catch {
            throw Problem.storage("stack not stored: \(error)")
        }
        let e = StackEntry(record: rec, config: config, stack: stack)
        add(e)
        return e
    }

    /// Runs a change on a stack under its lock; when it returns a new document, that is stored
    /// first and kept only if the store took it.
    /// `then`: what changes the stack once the new config is stored (not at all if storing fails).
    func change<T>(_ e: StackEntry, _ body: (Stack, inout StackConfig) throws(Problem) -> T,
                   then commit: (Stack, StackConfig, T) -> Void = { _, _, _ in }) throws(Problem) -> T {
        e.lock.lock(); defer { e.lock.unlock() }
        var c = e.config
        let out = try body(e.stack, &c)
        if c != e.config {
            do { try store.updateStack(name: c.name, config: StackDocument.encode(c).rendered()) } catch {
                throw Problem.storage("change not stored: \(error)")
            }
            e.config = c
        }
        commit(e.stack, c, out)
        return out
    }

    func delete(_ name: String) throws(Problem) {
        lock.lock(); defer { lock.unlock() }
        guard let e = entries[name] else { throw Problem.notFound("no stack named \(name)") }
        // Wait for any injection in progress on it: rows it enqueued commit first, then go with it;
        // one that finishes after this sees `deleted` and stores nothing.
        e.lock.lock(); defer { e.lock.unlock() }
        do { try store.deleteStack(name: name) } catch { throw Problem.storage("stack not deleted: \(error)") }
        e.deleted = true
        entries[name] = nil
        order.removeAll { $0 == name }
        // Its links went with it in the store (ON DELETE CASCADE).
        for l in links where l.aStack == name || l.bStack == name { lossState[l.id] = nil }
        links.removeAll { $0.aStack == name || $0.bStack == name }
    }
}
