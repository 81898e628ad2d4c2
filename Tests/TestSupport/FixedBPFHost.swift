import BPF

/// A BPF host with fixed answers (clock, random numbers, CPU, FIB, devices 2 and 3), so runs of a
/// program outside a stack are exact.
public final class FixedBPFHost: BPFHost {
    public init() {}
    public func ktimeNs() -> UInt64 { 123_456_789 }
    public func prandom() -> UInt32 { 4 }
    public var cpu: Int { 1 }
    public func fibLookup(_ params: UnsafeMutableRawPointer, flags: UInt32) -> Int64? { 4 }
    public func deviceExists(ifindex: Int) -> Bool { ifindex == 2 || ifindex == 3 }
}
