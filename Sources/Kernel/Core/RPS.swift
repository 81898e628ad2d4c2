// net/core/dev.c: Receive Packet Steering, Receive Flow Steering and the per-CPU backlog.
extension Stack {
    /// `get_rps_cpu`: RFS first (the CPU where the flow's socket was last read, moved only when the
    /// old CPU's backlog has drained past the flow's last packet), then the queue's rps_cpus map.
    func get_rps_cpu(_ skb: SkBuff, _ q: RXQueue) -> Int? {
        guard skb.hash != 0 else { return nil }
        if !q.flowTable.isEmpty && !sockFlowTable.isEmpty {
            let next = sockFlowTable[Int(skb.hash) & (sockFlowTable.count - 1)]
            let slot = Int(skb.hash) & (q.flowTable.count - 1)
            var tcpu = q.flowTable[slot].cpu
            if next >= 0 && next != tcpu {
                if tcpu < 0 || Int32(bitPattern: cpus[tcpu].inputQueueHead &- q.flowTable[slot].lastQtail) >= 0 {
                    tcpu = next
                    q.flowTable[slot] = (next, cpus[next].inputQueueTail)
                }
            }
            if tcpu >= 0 { return tcpu }
        }
        guard !q.rpsCPUs.isEmpty else { return nil }
        // reciprocal_scale(hash, len)
        return q.rpsCPUs[Int((UInt64(skb.hash) * UInt64(q.rpsCPUs.count)) >> 32)]
    }

    /// `enqueue_to_backlog`: admit while the queue holds at most netdev_max_backlog, schedule the
    /// backlog NAPI (directly, or through an RPS IPI on another CPU), else drop with CPU_BACKLOG.
    func enqueue_to_backlog(_ skb: SkBuff, cpu target: Int, queue q: RXQueue) -> PathEnd {
        enter(.enqueue_to_backlog, skb)
        let sd = cpus[target]
        if skb_flow_limit(skb, sd) {
            sd.dropped += 1
            sd.flowLimitCount += 1
            devices[skb.dev].stats.rx_dropped += 1
            return drop(.CPU_BACKLOG, "RPS flow limit: this flow holds more than half of CPU \(target)'s recent backlog")
        }
        guard sd.backlog.push(skb) else {
            sd.dropped += 1
            devices[skb.dev].stats.rx_dropped += 1
            return drop(.CPU_BACKLOG, "backlog of CPU \(target) holds \(sd.backlog.count) packets (netdev_max_backlog \(netdevMaxBacklog))")
        }
        sd.inputQueueTail &+= 1
        if !q.flowTable.isEmpty {
            let slot = Int(skb.hash) & (q.flowTable.count - 1)
            if q.flowTable[slot].cpu == target { q.flowTable[slot].lastQtail = sd.inputQueueTail }
        }
        if !sd.backlogScheduled {
            sd.backlogScheduled = true
            if target == skb.cpu {
                napi_schedule(.backlog, on: sd)
            } else {
                schedule(clocks[skb.cpu], .rpsIPI(cpu: target))
            }
        }
        return .stolen
    }
}

extension Stack {
    /// `skb_flow_limit`: with the CPU in net.core.flow_limit_cpu_bitmap and its backlog over half
    /// full, a flow that had more than half of the last 256 packets is dropped.
    func skb_flow_limit(_ skb: SkBuff, _ sd: SoftnetData) -> Bool {
        guard flowLimitCPUBitmap & (1 << sd.cpu) != 0, sd.backlog.count >= (netdevMaxBacklog >> 1) else { return false }
        let tableLen = flowLimitTableLen
        if sd.flowBuckets.count != tableLen { sd.flowBuckets = Array(repeating: 0, count: tableLen); sd.flowHistory = Array(repeating: -1, count: 256) }
        let bucket = Int(skb.hash) & (tableLen - 1)
        let old = sd.flowHistory[sd.flowHistoryHead]
        sd.flowHistory[sd.flowHistoryHead] = bucket
        sd.flowHistoryHead = (sd.flowHistoryHead + 1) & 255
        if old >= 0 { sd.flowBuckets[old] -= 1 }
        sd.flowBuckets[bucket] += 1
        return sd.flowBuckets[bucket] > 256 >> 1
    }
}
