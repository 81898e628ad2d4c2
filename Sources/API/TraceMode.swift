import Kernel

/// Which packets of an injection are stored and answered as traces, and how much of each: the
/// stack's default (`"trace"` in its document) or `?trace=` on POST packets. Every packet counts
/// in the stack's outcome counters and in the answer's `outcomes`, whatever the mode.
enum TraceMode: Equatable, Sendable {
    /// Every stage and rule event of every packet.
    case full
    /// One small row per packet: outcome, drop reason, last stage, the rules that decided.
    case summary
    /// Full traces of dropped packets only.
    case drops
    /// A full trace of every Nth packet of the injection (the 1st, the N+1th, ...).
    case sample(Int)
    /// Full traces of packets a rule marked with `meta nftrace set 1`.
    case nftrace
    /// No traces: counts only (the path runs without recording stages).
    case none

    init?(_ text: String) {
        switch text {
        case "full": self = .full
        case "summary": self = .summary
        case "drops": self = .drops
        case "nftrace": self = .nftrace
        case "none": self = .none
        default:
            guard text.hasPrefix("sample:"), let n = Int(text.dropFirst(7)), n >= 1, n <= 1_000_000_000 else { return nil }
            self = .sample(n)
        }
    }

    var text: String {
        switch self {
        case .full: "full"
        case .summary: "summary"
        case .drops: "drops"
        case .sample(let n): "sample:\(n)"
        case .nftrace: "nftrace"
        case .none: "none"
        }
    }

    static let help = "trace must be full, summary, drops, sample:N (N from 1), nftrace or none"

    /// How packet `k` (its result `r`) is kept: nil when not at all.
    func keep(_ k: Int, _ r: Kernel.PacketResult) -> Kept? {
        switch self {
        case .full: .full
        case .summary: .summary
        case .drops: r.outcome == .dropped ? .full : nil
        case .sample(let n): k % n == 0 ? .full : nil
        case .nftrace: r.nftrace ? .full : nil
        case .none: nil
        }
    }
    enum Kept { case full, summary }
}
