import Wire

/// The oracle's IPv4 normalisation (../shared/oracle/README.md): an emitted frame whose IP ID
/// differs from the injected frame's was built by the stack with a random ID, so the ID is zeroed
/// and the header checksum recomputed. Applied to our frames before comparing with the kernel's.
public func maskedIPID(_ frame: [UInt8], injected: [UInt8]) -> [UInt8] {
    guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4 else { return frame }
    let injectedID = injected.count >= 34 && injected[12] == 0x08 && injected[13] == 0x00 ? Array(injected[18..<20]) : []
    guard Array(frame[18..<20]) != injectedID else { return frame }
    var f = frame
    f[18] = 0; f[19] = 0
    guard var p = try? IPv4Packet(checking: f, at: 14) else { return frame }
    p.fillChecksum()
    return p.buffer
}
