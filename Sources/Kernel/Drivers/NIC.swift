import Wire

// The NIC and its driver's interrupt side: descriptor rings, RSS, coalescing, hard IRQ.
extension Stack {
    /// The hardware receive: RSS picks the queue, DMA fills a descriptor, coalescing decides the IRQ.
    func nic_receive(packet p: Int, device: Int, at t: UInt64, csumPartial: Bool = false) {
        let dev = devices[device]
        let frame = packets[p].frame
        let hash = dev.rss.hash(frame: frame)
        let qi = dev.queues.count > 1 ? dev.rss.queue(for: hash) : 0
        let q = dev.queues[qi]
        packets[p].rxQueue = qi
        let skb = allocSkb(frame: frame, dev: dev.index, packet: p)
        skb.hash = hash
        skb.hashComputed = !dev.config.veth
        skb.rxQueue = qi
        skb.rxCsumPartial = csumPartial
        skb.cpu = q.irqCPU
        if tracing { packets[p].stages.append(TraceStage(stage: .nic_receive, cpu: q.irqCPU, timeNs: t)) }
        guard q.ring.push(skb) else {
            // No free descriptor: the NIC drops the frame before any skb exists.
            dev.stats.rx_missed_errors += 1
            packets[p].outcome = .dropped
            packets[p].dropReason = .FULL_RING
            packets[p].endNs = t
            if tracing { packets[p].note = "RX ring \(qi) of \(dev.name) full (\(q.ring.capacity) descriptors): counted in rx_missed_errors" }
            return
        }
        guard q.irqEnabled else { return }   // NAPI is polling this queue: no interrupt needed
        q.framesSinceIRQ += 1
        let frames = dev.config.rxFrames, usecs = dev.config.rxUsecs
        if (frames > 0 && q.framesSinceIRQ >= frames) || (frames == 0 && usecs == 0) {
            raiseIRQ(dev.index, qi, at: t)
        } else if usecs > 0 && !q.timerArmed {
            q.timerArmed = true
            schedule(t + UInt64(usecs) * 1000, .coalesceTimer(device: dev.index, queue: qi, generation: q.timerGeneration))
        }
    }

    func raiseIRQ(_ dev: Int, _ qi: Int, at t: UInt64) {
        let q = devices[dev].queues[qi]
        guard q.irqEnabled else { return }
        q.irqEnabled = false   // masked from here until napi_complete_done
        q.framesSinceIRQ = 0
        q.timerArmed = false
        q.timerGeneration += 1
        schedule(t, .hardirq(device: dev, queue: qi))
    }

    func coalesceTimer(device: Int, queue: Int, generation: Int, at t: UInt64) {
        let q = devices[device].queues[queue]
        guard q.timerGeneration == generation, q.timerArmed else { return }
        raiseIRQ(device, queue, at: t)
    }

    /// The driver's interrupt handler: `napi_schedule` puts the queue's NAPI on its CPU's poll list.
    func hardirq(device: Int, queue: Int, at t: UInt64) {
        let q = devices[device].queues[queue]
        let sd = cpus[q.irqCPU]
        clocks[sd.cpu] = max(clocks[sd.cpu], t) &+ costs.hardirq
        devices[device].stats.rx_interrupts += 1
        napi_schedule(.queue(device: device, queue: queue), on: sd)
    }

    /// `____napi_schedule`: add to the poll list and raise NET_RX_SOFTIRQ.
    func napi_schedule(_ n: NAPIRef, on sd: SoftnetData) {
        if case .queue(let d, let qi) = n { devices[d].queues[qi].napiScheduled = true }
        sd.pollList.append(n)
        if !sd.inAction && !sd.softirqPending {
            sd.softirqPending = true
            schedule(clocks[sd.cpu], .softirq(cpu: sd.cpu))
        }
    }
}
