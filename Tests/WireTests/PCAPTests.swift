import TestSupport
import Wire
import XCTest

/// Captures as Scapy 2.5 wrote them (wrpcap, PcapNgWriter): three UDP frames at 1,700,000,000.0,
/// .25 and 1.5 s; and the pcapng this writes, read back.
final class PCAPTests: XCTestCase {
    static let classic = "d4c3b2a1020004000000000000000000ffff00000100000000f15365000000002b0000002b00000002000000000202000000000108004500001d000000004011eea8c6120001c612000203e800350009f7967800f1536590d003002b0000002b00000002000000000202000000000108004500001d000100004011eea7c6120001c612000203e800360009f7957801f1536520a107002b0000002b00000002000000000202000000000108004500001d000200004011eea6c6120001c612000203e800160009f7b578"
    static let ng = "0a0d0d0a1c0000004d3c2b1a0100000000000000000000001c0000000100000014000000010000000000040014000000060000004c00000000000000240a060000401e182b0000002b00000002000000000202000000000108004500001d000000004011eea8c6120001c612000203e800350009f79678004c000000060000004c00000000000000240a0600901022182b0000002b00000002000000000202000000000108004500001d000100004011eea7c6120001c612000203e800360009f79578004c000000060000004c00000000000000240a0600602335182b0000002b00000002000000000202000000000108004500001d000200004011eea6c6120001c612000203e800160009f7b578004c000000"
    static let times: [UInt64] = [1_700_000_000_000_000_000, 1_700_000_000_250_000_000, 1_700_000_001_500_000_000]

    func testReadsScapysPcapAndPcapng() throws {
        for hex in [Self.classic, Self.ng] {
            let ps = try PCAP.read(try Hex.decode(hex))
            XCTAssertEqual(ps.map(\.timeNs), Self.times)
            XCTAssertEqual(ps.map { $0.frame.count }, [43, 43, 43])
            XCTAssertEqual(Hex.encode(ps[2].frame), "02000000000202000000000108004500001d000200004011eea6c6120001c612000203e800160009f7b578")
        }
    }

    /// Big-endian and nanosecond pcap: the same packets.
    func testByteOrderAndNanosecondVariants() throws {
        var b = try Hex.decode(Self.classic)
        // Nanosecond magic, little endian: the fraction field is now nanoseconds.
        b[0] = 0x4d; b[1] = 0x3c
        XCTAssertEqual(try PCAP.read(b).map(\.timeNs), [1_700_000_000_000_000_000, 1_700_000_000_000_250_000, 1_700_000_001_000_500_000])
        // Big endian: every header field swapped.
        var be = try Hex.decode(Self.classic)
        func swap(_ o: Int, _ n: Int) { be[o..<(o + n)].reverse() }
        swap(0, 4); swap(4, 2); swap(6, 2); swap(8, 4); swap(12, 4); swap(16, 4); swap(20, 4)
        var o = 24
        while o < be.count { let len = Int(be[o + 8]); swap(o, 4); swap(o + 4, 4); swap(o + 8, 4); swap(o + 12, 4); o += 16 + len }
        XCTAssertEqual(try PCAP.read(be).map(\.timeNs), Self.times)
    }

    func testRefusals() throws {
        XCTAssertThrowsError(try PCAP.read([1, 2, 3])) { XCTAssertEqual(($0 as! PCAP.Failure).message, "too short for a capture file header") }
        var b = try Hex.decode(Self.classic)
        b[20] = 105   // LINKTYPE_IEEE802_11
        XCTAssertThrowsError(try PCAP.read(b)) { XCTAssertEqual($0 as? PCAP.Failure, PCAP.Failure(offset: 20, message: "link type 105 (only Ethernet, 1, is read)", unsupported: true)) }
        let cut = Array(try Hex.decode(Self.classic).dropLast(5))
        XCTAssertThrowsError(try PCAP.read(cut)) { XCTAssertEqual(($0 as! PCAP.Failure).offset, 150) }
        var ng = try Hex.decode(Self.ng)
        // A simple packet block shorter than its fixed part (a fuzzing finding: it trapped).
        let short = try Hex.decode("0a0d0d0a1c0000004d3c2b1a0100000000000000000000001c000000" + "0100000014000000010000000000040014000000" + "030000000c0000000c000000")
        XCTAssertThrowsError(try PCAP.read(short)) { XCTAssertEqual(($0 as! PCAP.Failure).message, "short simple packet block") }
        ng[4] = 0x1d   // a block length not a multiple of 4
        XCTAssertThrowsError(try PCAP.read(ng)) { XCTAssertEqual(($0 as! PCAP.Failure).message, "block length 29 is not a multiple of 4 within the file") }
    }

    func testWrittenPcapngReadsBack() throws {
        let frames: [[UInt8]] = [[1, 2, 3, 4, 5], Array(repeating: 7, count: 64)]
        let out = PCAP.writeNG(interfaces: ["s:eth0", "s:eth1"], packets: [(0, 5, frames[0], "trace 1: dropped"), (1, 1_000_000_007, frames[1], nil)])
        let back = try PCAP.read(out)
        XCTAssertEqual(back, [PCAP.Packet(timeNs: 5, frame: frames[0], interface: 0), PCAP.Packet(timeNs: 1_000_000_007, frame: frames[1], interface: 1)])
        // The comment option (code 1) as tshark reads it: "trace 1: dropped", padded to 4 bytes.
        XCTAssertTrue(Hex.encode(out).contains("0100" + "1000" + Hex.encode(Array("trace 1: dropped".utf8))), Hex.encode(out))
        XCTAssertEqual(out.count % 4, 0)
    }

    /// Fed in pieces of every size, a capture reads as it does whole, and a cut one fails at the
    /// same byte; a piece ending mid-record holds nothing back but that record.
    func testPiecesOfAnySizeReadAsTheWholeFile() throws {
        for hex in [Self.classic, Self.ng] {
            let whole = try Hex.decode(hex)
            for size in 1...whole.count {
                var r = PCAP.Reader()
                var got: [PCAP.Packet] = []
                var o = 0
                while o < whole.count {
                    got += try r.feed(whole[o..<min(o + size, whole.count)])
                    o += size
                }
                got += try r.finish()
                XCTAssertEqual(got, try PCAP.read(whole), "pieces of \(size)")
                XCTAssertEqual(r.offset, whole.count)
            }
            var r = PCAP.Reader()
            XCTAssertEqual(try r.feed(whole.dropLast(5)).count, 2)
            XCTAssertThrowsError(try r.finish()) { XCTAssertEqual(($0 as! PCAP.Failure).offset, hex == Self.classic ? 150 : 204) }
        }
        // A pcapng block that claims more than the reader holds is refused before it is waited for.
        var big = PCAP.Reader()
        XCTAssertThrowsError(try big.feed(try Hex.decode("0a0d0d0a1c0000004d3c2b1a0100000000000000000000001c000000" + "010000000000000200000000"))) {
            XCTAssertEqual(($0 as! PCAP.Failure).message, "block length 33554432 is over 16777216 bytes, the longest block this reads")
        }
    }
}
