import Wire

// net/core/dev.c: NET_RX_SOFTIRQ. One event runs one packet of the NAPI at the head of the
// poll list, so other CPUs and arriving frames interleave in virtual time.
extension Stack {
    /// `net_rx_action`: poll NAPIs round robin within netdev_budget packets and
    /// netdev_budget_usecs; count time_squeeze and re-raise when either runs out with work left.
    func net_rx_action(cpu: Int, at t: UInt64) {
        let sd = cpus[cpu]
        if clocks[sd.cpu] < t { clocks[sd.cpu] = t }
        if !sd.inAction {
            sd.softirqPending = false
            guard !sd.pollList.isEmpty else { return }
            sd.inAction = true
            sd.budget = netdevBudget
            sd.timeLimit = clocks[sd.cpu] &+ budgetNs
            sd.work = 0
            clocks[sd.cpu] &+= costs.netRxAction
        }
        guard let n = sd.pollList.first else { sd.inAction = false; return }
        let weight = devWeight
        while sd.work < weight && napi_poll_one(n, sd) {
            sd.work += 1
            sd.budget -= 1
            // Go on without a trip through the event queue unless something else is due first.
            if let next = nextEventTime, next <= clocks[sd.cpu] {
                schedule(clocks[sd.cpu], .softirq(cpu: cpu))
                return
            }
        }
        // This NAPI's poll is over: under its weight it completes, at its weight it is re-polled later.
        sd.pollList.removeFirst()
        let complete = sd.work < weight
        napi_poll_end(n, sd, complete: complete)
        if !complete { sd.pollList.append(n) }
        sd.work = 0
        if sd.pollList.isEmpty { sd.inAction = false; return }
        if sd.budget <= 0 || clocks[sd.cpu] >= sd.timeLimit {
            sd.timeSqueeze += 1
            sd.inAction = false
            sd.softirqPending = true
            schedule(clocks[sd.cpu], .softirq(cpu: cpu))
            return
        }
        schedule(clocks[sd.cpu], .softirq(cpu: cpu))
    }

    /// One packet of a NAPI poll; false when it has none left.
    private func napi_poll_one(_ n: NAPIRef, _ sd: SoftnetData) -> Bool {
        switch n {
        case .queue(let d, let qi):
            guard let skb = devices[d].queues[qi].ring.pop() else { return false }
            skb.cpu = sd.cpu
            driver_poll_rx(skb)
            return true
        case .backlog:
            guard let skb = sd.backlog.pop() else { return false }
            sd.inputQueueHead &+= 1
            skb.cpu = sd.cpu
            enter(.process_backlog, skb)
            finish(skb, __netif_receive_skb_core(skb))
            return true
        }
    }

    /// End of a poll: flush GRO, and on completion unmask the queue's interrupt
    /// (`napi_complete_done`), re-raising it when frames arrived meanwhile.
    private func napi_poll_end(_ n: NAPIRef, _ sd: SoftnetData, complete: Bool) {
        switch n {
        case .queue(let d, let qi):
            let q = devices[d].queues[qi]
            napi_gro_flush(q, sd)
            gro_normal_list(q)
            if complete {
                q.napiScheduled = false
                q.irqEnabled = true
                if !q.ring.isEmpty { raiseIRQ(d, qi, at: clocks[sd.cpu]) }
            }
        case .backlog:
            if complete { sd.backlogScheduled = false }
        }
    }

    /// The driver's per-frame work in its poll: build the skb, classify, checksum offload, GRO.
    func driver_poll_rx(_ skb: SkBuff) {
        enter(.napi_poll, skb)
        let dev = devices[skb.dev]
        if let x = dev.xdp, x.mode == .native, let end = veth_xdp_rcv(skb, x) { finish(skb, end); return }
        enter(.napi_alloc_skb, skb)
        if let end = eth_type_trans(skb) { finish(skb, end); return }
        if skb.rxCsumPartial {
            veth_rx_partial(skb)
        } else if dev.config.rxChecksumOffload && l4ChecksumVerifies(skb) {
            skb.ipSummed = .unnecessary
        }
        let q = dev.queues[skb.rxQueue]
        finish(skb, napi_gro_receive(skb, q, cpus[skb.cpu]))
    }

    /// `rps_trigger_softirq`: an RPS IPI schedules the target CPU's backlog NAPI.
    func rps_trigger_softirq(cpu: Int, at t: UInt64) {
        let sd = cpus[cpu]
        if clocks[sd.cpu] < t { clocks[sd.cpu] = t }
        sd.receivedRPS += 1
        napi_schedule(.backlog, on: sd)
    }
}
