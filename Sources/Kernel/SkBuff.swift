import Wire

/// `skb->pkt_type`, set by `eth_type_trans` from the destination MAC.
public enum PacketType: String, Sendable {
    case host = "PACKET_HOST", broadcast = "PACKET_BROADCAST", multicast = "PACKET_MULTICAST", otherhost = "PACKET_OTHERHOST"
}

/// The socket buffer: the frame plus the offsets and metadata the stages set.
/// Offsets index `data`; `len` is the valid length (after `pskb_trim_rcsum`).
public final class SkBuff {
    public var data: [UInt8]
    public var len: Int
    public var macHeader = 0
    public var networkHeader = 0
    public var transportHeader = 0
    public var protocolType: UInt16 = 0
    public var pktType: PacketType = .host
    public var vlanID: UInt16? = nil
    /// Index of the receiving device in the stack.
    public var dev: Int
    public var cpu = 0

    public init(frame: [UInt8], dev: Int) {
        data = frame; len = frame.count; self.dev = dev
    }
}
