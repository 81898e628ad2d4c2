/// Virtual nanoseconds each stage costs; they drive the clock (and later budgets and squeezes).
/// Defaults are round figures of the order a 3 GHz core spends per stage; a stack may override any.
public struct StageCosts: Sendable {
    public static let defaults: [Stage: UInt64] = [
        .eth_type_trans: 20, .netif_receive_skb: 30, .__netif_receive_skb_core: 40, .arp_rcv: 60,
        .ip_rcv: 60, .ip_rcv_finish: 80, .ip_local_deliver: 20, .ip_local_deliver_finish: 30, .ip_defrag: 100,
        .udp_rcv: 120, .tcp_v4_rcv: 200, .icmp_rcv: 100, .kfree_skb_reason: 10, .consume_skb: 10,
    ]
    private var table: [UInt64]

    public init(overrides: [String: Int] = [:]) throws(ConfigError) {
        table = Stage.allCases.map { StageCosts.defaults[$0] ?? 0 }
        for (k, v) in overrides {
            guard let s = Stage(rawValue: k) else { throw ConfigError(path: "/costs/\(k)", message: "unknown stage \(k)") }
            guard v >= 0 else { throw ConfigError(path: "/costs/\(k)", message: "must not be negative") }
            table[Stage.allCases.firstIndex(of: s)!] = UInt64(v)
        }
    }
    @inline(__always) public subscript(_ s: Stage) -> UInt64 { table[s.index] }
}

extension Stage {
    /// Dense index for tables, stable within one build.
    @inline(__always) var index: Int { Stage.indexTable[self]! }
    static let indexTable: [Stage: Int] = Dictionary(uniqueKeysWithValues: Stage.allCases.enumerated().map { ($1, $0) })
}
