import Wire

/// How a stage chain ended; `Stack.finish` turns it into the last trace event.
enum PathEnd {
    case drop(DropReason, String?)
    case consume(String?)
    case deliver
}

/// One simulated Linux network stack. Not thread-safe: its owner serializes access
/// (one simulation step never races another on the same stack).
public final class Stack {
    public let config: StackConfig
    public let devices: [NetDevice]
    public let fib: FIB
    public var snmp = SNMPStats()
    let costs: StageCosts
    let sysctls: [String: Int]
    /// Virtual time in ns; advances by each stage's cost.
    public private(set) var clockNs: UInt64 = 0
    /// With tracing off the path records nothing.
    public var tracing = true
    var trace: [TraceStage] = []
    var note: String? = nil

    public init(config: StackConfig) throws(ConfigError) {
        guard (1...64).contains(config.cpus) else { throw ConfigError(path: "/cpus", message: "must be 1...64") }
        var seen = Set<String>()
        for (i, d) in config.devices.enumerated() {
            guard seen.insert(d.name).inserted else { throw ConfigError(path: "/devices/\(i)/name", message: "duplicate device name \(d.name)") }
        }
        for (k, v) in config.sysctls {
            if let why = Sysctls.validate(k, v) { throw ConfigError(path: "/sysctls/\(k)", message: why) }
        }
        self.config = config
        self.devices = config.devices.enumerated().map { NetDevice(index: $0.offset, config: $0.element) }
        self.fib = try FIB(devices: config.devices, routes: config.routes)
        self.costs = try StageCosts(overrides: config.costs)
        self.sysctls = Sysctls.defaults.merging(config.sysctls) { $1 }
    }

    public func device(named name: String) -> NetDevice? { devices.first { $0.name == name } }

    /// Receives one frame on a device and runs the RX path to its end.
    /// `atNs` moves the clock forward first (it never goes back).
    public func inject(frame: [UInt8], device: NetDevice, atNs: UInt64? = nil) -> PacketResult {
        if let t = atNs, t > clockNs { clockNs = t }
        let start = clockNs
        trace.removeAll(keepingCapacity: true)
        note = nil
        let skb = SkBuff(frame: frame, dev: device.index)
        let end = eth_type_trans(skb)
        let outcome: Outcome
        var reason: DropReason? = nil
        switch end {
        case .drop(let r, let why):
            enter(.kfree_skb_reason, skb)
            outcome = .dropped; reason = r
            if let why { note = why }
        case .consume(let why):
            enter(.consume_skb, skb)
            outcome = .consumed
            if let why { note = why }
        case .deliver:
            outcome = .delivered
        }
        return PacketResult(device: device.name, outcome: outcome, dropReason: reason, stages: trace,
                            startNs: start, endNs: clockNs, frame: frame, note: note)
    }

    /// Records entry into a stage and charges its virtual cost.
    @inline(__always) func enter(_ s: Stage, _ skb: SkBuff) {
        if tracing { trace.append(TraceStage(stage: s, cpu: skb.cpu, timeNs: clockNs)) }
        clockNs &+= costs[s]
    }

    func sysctl(_ name: String) -> Int { sysctls[name] ?? 0 }
}
