// kernel/time/timer.c: when a timer_list timer armed for a delay really fires.
extension Stack {
    /// HZ (Debian's kernel: 250) and jiffies at virtual time 0: INITIAL_JIFFIES, 300 s before
    /// wrapping 32 bits, as a booting kernel has them.
    static let jiffyNs: UInt64 = 4_000_000
    static let initialJiffies: UInt64 = 4_294_967_296 - 300 * 250

    /// `mod_timer(timer, jiffies + msecs_to_jiffies(delay))` on the timer wheel: the delay rounded
    /// up to jiffies, then `calc_index` puts the expiry in a bucket of its level (1 jiffy under 63,
    /// 8 under 504, 64 under 4032...) rounded up past it, so a timer never fires early and one of
    /// a second (250 jiffies) fires after 256 jiffies: 1.024 s. Answers that virtual time.
    func timerWheelExpiry(afterNs delay: UInt64, from t: UInt64? = nil) -> UInt64 {
        let start = t ?? clockNs
        let now = Stack.initialJiffies + start / Stack.jiffyNs
        let delta = (delay + Stack.jiffyNs - 1) / Stack.jiffyNs
        var lvl: UInt64 = 0
        while lvl < 8 && delta >= 63 << (lvl * 3) { lvl += 1 }
        let shift = lvl * 3
        let bucket = (((now + delta) >> shift) + 1) << shift
        return (bucket - Stack.initialJiffies) * Stack.jiffyNs
    }
}
