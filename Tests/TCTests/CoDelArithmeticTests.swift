@testable import Kernel
import XCTest

/// CoDel's control law in the kernel's fixed point (include/net/codel_impl.h), step by step.
final class CoDelArithmeticTests: XCTestCase {
    /// One Newton step per drop from 1.0 (0xffff): 1/sqrt(count) in 16 bits, rough at first (the
    /// kernel accepts that) and within 1% by the eighth drop.
    func testNewtonStepSequence() {
        var v = CoDelVars()
        v.recInvSqrt = 0xffff
        var got: [UInt16] = []
        for count in 2...8 {
            v.count = UInt32(count)
            v.newtonStep()
            got.append(v.recInvSqrt)
        }
        XCTAssertEqual(got, [32769, 36864, 31968, 28935, 26481, 24588, 23037])
        XCTAssertEqual(Double(got.last!) / (65536 / 8.0.squareRoot()), 1, accuracy: 0.01)
    }

    /// The next drop: interval (100 ms = 97656 units of 1024 ns) scaled by rec_inv_sqrt; u32 time wraps.
    func testControlLaw() {
        XCTAssertEqual(CoDelVars.controlLaw(1000, interval: 97656, recInvSqrt: 0xffff), 1000 + 97654)
        XCTAssertEqual(CoDelVars.controlLaw(1000, interval: 97656, recInvSqrt: 23037), 1000 + 34327)
        XCTAssertEqual(CoDelVars.controlLaw(UInt32.max, interval: 97656, recInvSqrt: 0xffff), 97653)
        XCTAssertTrue(codelAfter(5, UInt32.max), "time compares across the wrap")
    }
}
