/// A stored stack: its document as JSON text, as the API accepted it.
public struct StackRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var config: String
    public var createdAt: String
}

/// A stored trace: the columns it can be filtered on, and the whole trace as JSON text.
public struct TraceRecord: Sendable, Equatable {
    public var id: Int64
    public var stackID: Int64
    public var stackName: String
    public var device: String
    public var outcome: String
    public var dropReason: String?
    public var createdAt: String
    public var body: String
    /// The columns queries find it by.
    public var index: TraceIndex
    /// A full trace's events and frames, kept in rows of their own (`parts`); its body then holds
    /// the rest of the document, with null where they go back. Reads fill them in only when asked.
    public var parts: TraceParts?

    public init(id: Int64, stackID: Int64, stackName: String, device: String, outcome: String, dropReason: String?, createdAt: String, body: String,
                index: TraceIndex = TraceIndex(), parts: TraceParts? = nil) {
        self.id = id; self.stackID = stackID; self.stackName = stackName; self.device = device
        self.outcome = outcome; self.dropReason = dropReason; self.createdAt = createdAt; self.body = body; self.index = index; self.parts = parts
    }
}

/// A full trace's events and frames as stored apart from its body: its stages and its netfilter
/// events, each a JSON array as the trace document shows them (a row of `trace_event_lists`), and
/// its frames (rows of `trace_frames`).
public struct TraceParts: Sendable, Equatable {
    public var stages: String
    public var netfilter: String
    public var frames: [TraceFrame]
    public init(stages: String = "[]", netfilter: String = "[]", frames: [TraceFrame] = []) {
        self.stages = stages; self.netfilter = netfilter; self.frames = frames
    }
}

/// A frame of a trace: the packet it began with (arrived on `device`, or a socket's datagram),
/// or one the stack sent on `device` because of it.
public struct TraceFrame: Sendable, Equatable {
    public enum Direction: String, Sendable { case `in`, local, out }
    public var direction: Direction
    public var device: String
    public var timeNs: Int64
    public var bytes: [UInt8]
    public init(direction: Direction, device: String, timeNs: Int64, bytes: [UInt8]) {
        self.direction = direction; self.device = device; self.timeNs = timeNs; self.bytes = bytes
    }
}

/// One stored version of a stack's ruleset.
public struct RulesetVersion: Sendable, Equatable {
    public var version: Int
    public var createdAt: String
    public var summary: String
    public var ruleset: String
}

/// A stored link between two stacks' devices.
public struct LinkRecord: Sendable, Equatable {
    public var id: Int64
    public var aStack: String, aDev: String, bStack: String, bDev: String
    public var delayNs: Int64, rateMbps: Int64, lossPPM: Int64, reorderPPM: Int64, seed: Int64
    public var createdAt: String
    public init(id: Int64 = 0, aStack: String, aDev: String, bStack: String, bDev: String, delayNs: Int64, rateMbps: Int64 = 0, lossPPM: Int64,
                reorderPPM: Int64 = 0, seed: Int64, createdAt: String = "") {
        self.id = id; self.aStack = aStack; self.aDev = aDev; self.bStack = bStack; self.bDev = bDev
        self.delayNs = delayNs; self.rateMbps = rateMbps; self.lossPPM = lossPPM; self.reorderPPM = reorderPPM; self.seed = seed; self.createdAt = createdAt
    }
}

/// A stack's runtime state as checkpointed: its virtual clock, its ruleset as it stands (live
/// counters, quotas, set elements) grown from ruleset version `version` (0: none), and its
/// conntrack entries and the contents of its XDP programs' maps (as the API encodes them).
public struct StackState: Sendable, Equatable {
    /// The conntrack column: binary (Kernel's ConntrackCodec) since 2026-12; a JSON array before.
    public enum Conntrack: Sendable, Equatable { case binary([UInt8]), json(String) }
    public var version: Int
    public var clockNs: UInt64
    public var ruleset: String
    public var conntrack: Conntrack
    public var bpfMaps: String
    /// Counters, neighbours, random state, rate limiters (JSON; "{}" when the checkpoint had none).
    public var runtime: String
    public var savedAt: String
    public init(version: Int, clockNs: UInt64, ruleset: String, conntrack: Conntrack = .json("[]"), bpfMaps: String = "[]", runtime: String = "{}", savedAt: String = "") {
        self.version = version; self.clockNs = clockNs; self.ruleset = ruleset; self.conntrack = conntrack; self.bpfMaps = bpfMaps
        self.runtime = runtime; self.savedAt = savedAt
    }
}
