@testable import Kernel
import XCTest

final class StageCostTests: XCTestCase {
    /// Every software stage has a default cost (StageCosts reads them without a fallback); the
    /// NIC's DMA has none and cannot be given one.
    func testEveryStageButTheNICHasACost() throws {
        let software = Set(Stage.allCases.filter { $0 != .nic_receive }.map(\.name))
        XCTAssertEqual(Set(StageCosts.defaults.keys), software.union(["hardirq", "net_rx_action"]))
        XCTAssertThrowsError(try StageCosts(overrides: ["nic_receive": 1]))
        XCTAssertEqual(try StageCosts(overrides: ["ip_rcv": 7])[.ip_rcv], 7)
        XCTAssertEqual(try StageCosts()[.nic_receive], 0)
    }

    /// ipfrag_low_thresh is bounded by ipfrag_high_thresh (its only effect since Linux 4.17).
    func testFragmentThresholdsAreOrdered() {
        XCTAssertThrowsError(try NetSysctls(overrides: ["net.ipv4.ipfrag_low_thresh": 5 << 20]))
        XCTAssertNoThrow(try NetSysctls(overrides: ["net.ipv4.ipfrag_low_thresh": 5 << 20, "net.ipv4.ipfrag_high_thresh": 6 << 20]))
        XCTAssertThrowsError(try NetSysctls(overrides: ["net.ipv4.ip_frward": 1]))
    }
}
