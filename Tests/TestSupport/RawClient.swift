import Foundation
import Glibc

/// A blocking TCP client for byte-exact HTTP tests.
public final class RawClient {
    public let fd: Int32

    public init(port: UInt16, timeoutMs: Int = 3000) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    public func send(_ s: String) { send(Array(s.utf8)) }
    public func send(_ b: [UInt8]) { _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads until the peer closes (or the timeout passes).
    public func readAll() -> String { String(decoding: readAllBytes(), as: UTF8.self) }

    /// Reads until the peer closes (or the timeout passes), as bytes (HTTP/2 frames).
    public func readAllBytes() -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// Reads exactly `count` responses (Content-Length framed; `head` ones have no body).
    public func readResponses(_ count: Int, headRequests: Set<Int> = []) -> [(status: Int, headers: [String: String], body: String)] {
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        var out: [(Int, [String: String], String)] = []
        while out.count < count {
            if let r = parse(&data, isHead: headRequests.contains(out.count)) { out.append(r); continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data.append(contentsOf: buf[0..<n])
        }
        return out.map { (status: $0.0, headers: $0.1, body: $0.2) }
    }

    private func parse(_ d: inout [UInt8], isHead: Bool) -> (Int, [String: String], String)? {
        guard let end = d.indices.dropLast(3).first(where: { d[$0] == 13 && d[$0 + 1] == 10 && d[$0 + 2] == 13 && d[$0 + 3] == 10 }) else { return nil }
        let head = String(decoding: d[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1])!
        var h: [String: String] = [:]
        for line in head.dropFirst() {
            let kv = line.split(separator: ":", maxSplits: 1)
            h[kv[0].lowercased()] = kv[1].trimmingCharacters(in: .whitespaces)
        }
        let len = (status == 100 || isHead) ? 0 : Int(h["content-length"] ?? "0")!
        guard d.count >= end + 4 + len else { return nil }
        let body = String(decoding: d[(end + 4)..<(end + 4 + len)], as: UTF8.self)
        d.removeFirst(end + 4 + len)
        return (status, h, body)
    }
}
