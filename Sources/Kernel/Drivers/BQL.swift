// lib/dynamic_queue_limits.c and netdev_tx_sent_queue / netdev_tx_completed_queue
// (include/linux/netdevice.h): byte queue limits on a NIC's TX queue.

/// `struct dql`: how many bytes the driver may hold on its ring. The limit starts at 0 and
/// grows when the queue ran dry while over it (starved); it shrinks by the least slack seen over
/// a hold time (1 s, `HZ`) while the queue stays busy.
public struct DQL: Sendable, Equatable, Codable {
    public private(set) var limit = 0
    public private(set) var numQueued = 0, numCompleted = 0
    var adjLimit = 0
    var lastObjCnt = 0, prevNumQueued = 0, prevLastObjCnt = 0, prevOvlimit = 0
    var lowestSlack = Int(UInt32.max)
    var slackStartJiffies: UInt64 = 0
    /// `DQL_MAX_LIMIT` and the default hold time in jiffies (HZ at 250).
    static let maxLimit = (Int(UInt32.max) / 16) - 1
    static let holdJiffies: UInt64 = 250

    public init() {}

    /// Bytes on the ring and not completed (`byte_queue_limits/inflight`).
    public var inflight: Int { numQueued - numCompleted }
    /// `dql_avail`: room left before the queue stops.
    var avail: Int { adjLimit - numQueued }

    /// `dql_queued`.
    mutating func queued(_ count: Int) {
        lastObjCnt = count
        numQueued += count
    }

    /// `dql_completed`: `count` bytes done at `jiffies`; the limit follows starvation and slack.
    mutating func completed(_ count: Int, jiffies: UInt64) {
        func posdiff(_ a: Int, _ b: Int) -> Int { a - b > 0 ? a - b : 0 }
        let completed = numCompleted + count
        var limit = self.limit
        var ovlimit = posdiff(numQueued - numCompleted, limit)
        let inprogress = numQueued - completed
        let prevInprogress = prevNumQueued - numCompleted
        let allPrevCompleted = posdiff(completed, prevNumQueued)
        if (ovlimit != 0 && inprogress == 0) || (prevOvlimit != 0 && allPrevCompleted != 0) {
            // Starved: grow by what was sent and completed in the last interval, plus the old overlimit.
            limit += posdiff(completed, prevNumQueued) + prevOvlimit
            slackStartJiffies = jiffies
            lowestSlack = Int(UInt32.max)
        } else if inprogress != 0 && prevInprogress != 0 && allPrevCompleted == 0 {
            // Busy the whole interval: shrink by the least slack seen over the hold time.
            let slack = max(posdiff(limit + prevOvlimit, 2 * (completed - numCompleted)),
                            prevOvlimit != 0 ? posdiff(prevLastObjCnt, prevOvlimit) : 0)
            lowestSlack = min(lowestSlack, slack)
            if jiffies > slackStartJiffies + DQL.holdJiffies {
                limit = posdiff(limit, lowestSlack)
                slackStartJiffies = jiffies
                lowestSlack = Int(UInt32.max)
            }
        }
        limit = min(max(limit, 0), DQL.maxLimit)
        if limit != self.limit {
            self.limit = limit
            ovlimit = 0
        }
        adjLimit = limit + completed
        prevOvlimit = ovlimit
        prevLastObjCnt = lastObjCnt
        numCompleted = completed
        prevNumQueued = numQueued
    }
}
