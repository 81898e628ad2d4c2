import Wire

// net/core/dev.c (__dev_queue_xmit, __dev_xmit_skb, dev_hard_start_xmit, xmit_one),
// net/sched/sch_generic.c (__qdisc_run, qdisc_restart, sch_direct_xmit, dev_requeue_skb).
extension Stack {
    /// `dev_queue_xmit`: the MAC header goes on (`dev_hard_header`), then the device's root
    /// qdisc takes the skb, or a noqueue device hands it to the driver at once. Answers how the
    /// path ends now: sent, dropped by the qdisc, or stolen (queued, it ends when dequeued).
    func dev_queue_xmit(_ skb: SkBuff, dev: Int, dstMAC: MACAddress, outcome: Outcome) -> PathEnd {
        let nh = skb.networkHeader
        precondition(nh >= 14, "no room for the MAC header")
        let type = skb.protocolType == EtherType.ipv6 || skb.protocolType == EtherType.arp ? skb.protocolType : EtherType.ipv4
        EthernetRepr(dst: dstMAC, src: devices[dev].mac, ethertype: type).emit(into: &skb.data, at: nh - 14)
        return __dev_queue_xmit(skb, dev: dev, outcome: outcome)
    }

    /// `__dev_queue_xmit` with the MAC header on: netdev egress chains (nf_hook_egress), the
    /// clsact egress hook, then the qdisc. A drop here is NET_XMIT_DROP to a local sender.
    func __dev_queue_xmit(_ skb: SkBuff, dev: Int, outcome: Outcome) -> PathEnd {
        enter(.dev_queue_xmit, skb)
        skb.macHeaderSet = true   // skb_reset_mac_header
        let d = devices[dev]
        skb.qdiscPktLen = skb.l2LengthWithSegmentHeaders
        if netfilter.hasEgress, netfilter.egress[d.name] != nil {
            skb.dataAtMAC = true
            let v = nf_hook(.egress, skb, inDev: nil, outDev: dev)
            skb.dataAtMAC = false
            if case .consumed = v, let f = skb.fwd { return nft_fwd_xmit(skb, f) }
            if let end = netfilterVerdict(v, at: "egress") {
                if case .drop = end { xmitError = .enobufs }
                return end
            }
        }
        if let c = d.clsact, !c.egress.isEmpty, let end = sch_handle_egress(skb, dev: dev, c) { return end }
        skb.txOutcome = outcome
        let sent = sentEnd(skb, outcome)
        let tx = d.tx, q = tx.qdisc
        tx.cpu = skb.cpu
        if q is NoQueue {
            // dev_hard_start_xmit → xmit_one: the taps, then lo's ndo_start_xmit.
            if d.isLoopback {
                enter(.dev_hard_start_xmit, skb)
                return loopback_xmit(skb, dev: dev)
            }
            dev_hard_start_xmit(skb, dev: dev)
            return sent
        }
        // TCQ_F_CAN_BYPASS: an empty qdisc and a running queue send straight away (still counted).
        if q.canBypass && q.stats.qlen == 0 && q.requeued.isEmpty && !tx.xoff {
            q.stats.bytes += skb.qdiscPktLen; q.stats.packets += skb.gsoSegs
            enter(.sch_direct_xmit, skb)
            dev_hard_start_xmit(skb, dev: dev)
            return sent
        }
        enter(.qdisc_enqueue, skb)
        if skb.hash == 0 { skb.hash = skb_get_hash(skb) }
        skb.hashComputed = true
        let verdict = q.enqueue(skb, len: skb.qdiscPktLen, now: clocks[skb.cpu])
        var callerFreed = false
        for (victim, reason) in q.toFree {
            if victim === skb { callerFreed = true }
            finish(victim, drop(reason, "\(q.spec.kind) \(Stack.handleText(q.handle)) on \(d.name) dropped it from its queue"))
        }
        q.toFree = []
        // The qdisc runs after a drop too: what it already holds may go now.
        let callerSent = __qdisc_run(dev: dev, caller: skb)
        if case .drop(let reason) = verdict {
            xmitError = .enobufs
            return drop(reason, "\(q.spec.kind) \(Stack.handleText(q.handle)) on \(d.name) is full (qdisc_drop)")
        }
        return callerSent && !callerFreed ? sent : .stolen
    }

    /// `__qdisc_run` / `qdisc_restart`: `dequeue_skb` takes a packet and then, for qdiscs that
    /// do not bulk by bytes, up to 8 more (`try_bulk_dequeue_skb_slow`: each try is a real
    /// dequeue, so a throttled tbf counts an overlimit for it); `sch_direct_xmit` sends the batch,
    /// and what the driver refuses once its queue stops is requeued. The run ends when the qdisc
    /// has nothing it will give; a throttled one arms its watchdog. True when `caller` left.
    @discardableResult
    func __qdisc_run(dev: Int, caller: SkBuff?) -> Bool {
        let tx = devices[dev].tx, q = tx.qdisc
        let cpu = tx.cpu
        var callerSent = false
        while !tx.xoff {
            var batch: [SkBuff]
            if !q.requeued.isEmpty {
                batch = q.requeued; q.requeued = []
            } else {
                let first = q.dequeue(now: clocks[cpu])
                freeDropped(q, dev: dev)
                guard let first else { break }
                batch = [first]
                while batch.count < 9, let more = q.dequeue(now: clocks[cpu]) { batch.append(more) }
                freeDropped(q, dev: dev)
            }
            for (i, skb) in batch.enumerated() {
                if tx.xoff {
                    // dev_requeue_skb: the rest waits at the head of the qdisc.
                    q.requeued = Array(batch[i...])
                    q.stats.requeues += 1
                    break
                }
                skb.cpu = cpu
                enter(.sch_direct_xmit, skb)
                dev_hard_start_xmit(skb, dev: dev)
                if skb === caller { callerSent = true } else if !skb.generated {
                    finish(skb, sentEnd(skb, skb.txOutcome))
                }
            }
        }
        // A deadline not after now would only spin: the next nanosecond at the earliest.
        if let d = q.watchdogNs, case let w = max(d, clocks[cpu] &+ 1), tx.watchdogAt != w {
            tx.watchdogAt = w
            schedule(w, .qdiscWatchdog(device: dev))
        }
        return callerSent
    }

    /// What a dequeue dropped (CoDel) ends here, each with its reason.
    private func freeDropped(_ q: Qdisc, dev: Int) {
        guard !q.toFree.isEmpty else { return }
        for (victim, reason) in q.toFree {
            victim.cpu = devices[dev].tx.cpu
            finish(victim, drop(reason, "\(q.spec.kind) \(Stack.handleText(q.handle)) on \(devices[dev].name) dropped it at dequeue"))
        }
        q.toFree = []
    }

    /// `skb_get_hash` for a packet without one (locally generated): the flow dissector's hash of
    /// addresses, protocol and ports, keyed per stack (`hashrnd`; from the seed here). Never 0.
    func skb_get_hash(_ skb: SkBuff) -> UInt32 {
        let nh = skb.networkHeader, b = skb.data
        var words: (UInt32, UInt32, UInt32)
        if skb.protocolType == EtherType.ipv6, skb.len >= nh + 40 {
            let s = IPv6Address(array: b, at: nh + 8).raw, d = IPv6Address(array: b, at: nh + 24).raw
            words = (UInt32(truncatingIfNeeded: s ^ (s >> 64) ^ (s >> 32)), UInt32(truncatingIfNeeded: d ^ (d >> 64) ^ (d >> 32)), UInt32(b[nh + 6]))
        } else if skb.len >= nh + 20 {
            words = (b.be32(nh + 12), b.be32(nh + 16), UInt32(b[nh + 9]))
            let ihl = Int(b[nh] & 0x0f) * 4
            if b.be16(nh + 6) & 0x1fff == 0, b[nh + 9] == IPProtocol.udp || b[nh + 9] == IPProtocol.tcp, skb.len >= nh + ihl + 4 {
                words.2 ^= b.be32(nh + ihl) << 8
            }
        } else {
            words = (0, 0, 0)
        }
        let h = UInt32(truncatingIfNeeded: SipHash.hash3(words.0, words.1, words.2, key: (config.seed ^ 0x6861_7368_726e_6400, config.seed &+ 1)))
        return h == 0 ? 1 : h
    }

    /// How a path ends once its skb is on the wire: a packet forwarded or transmitted; one the
    /// stack made for another (ICMP, fragments) reports through that one.
    func sentEnd(_ skb: SkBuff, _ outcome: Outcome) -> PathEnd {
        skb.generated ? .stolen : outcome == .forwarded ? .forwarded : .transmitted
    }

    /// `qdisc_watchdog`: the throttled qdisc may send again.
    func qdisc_watchdog(device dev: Int, at t: UInt64) {
        let tx = devices[dev].tx
        guard tx.watchdogAt == t else { return }
        tx.watchdogAt = nil
        if clocks[tx.cpu] < t { clocks[tx.cpu] = t }
        __qdisc_run(dev: dev, caller: nil)
    }

    /// `dev_hard_start_xmit` → `xmit_one` → the driver's `ndo_start_xmit`: `validate_xmit_skb`
    /// cuts a GSO skb into its segments (in software unless the device has TSO), each frame goes
    /// on the TX ring and the wire, and the queue stops when the ring is full.
    func dev_hard_start_xmit(_ skb: SkBuff, dev: Int) {
        enter(.dev_hard_start_xmit, skb)
        // validate_xmit_skb: a device without TX checksum offload gets the sum finished here.
        if skb.csumPartialOffset != nil && skb.gsoSize == 0 && !devices[dev].config.txChecksumOffload {
            enter(.skb_checksum_help, skb)
            skb.csumPartialOffset = nil
        }
        let c = devices[dev].config
        let offloaded = skb.gsoSize > 0 && c.offloads(udp: skb.gsoUDP)
        if skb.gsoSize > 0 && !(offloaded && c.veth) {
            // Cut in software, or by the NIC's hardware (TSO/USO: the same frames, no CPU stage);
            // a veth with the offload hands its peer the whole skb (recorded for UDP_SEGMENT).
            let segs = skb_gso_segment(skb, offloaded: offloaded)
            for (k, seg) in segs.enumerated() { xmit_one(seg, dev: dev, cause: skb, owner: k == segs.count - 1 ? skb : nil) }
        } else {
            xmit_one(skb, dev: dev, cause: skb, owner: skb)
        }
    }

    /// The frame an skb puts on the wire from its MAC header; `partial`: its CHECKSUM_PARTIAL
    /// checksum left unfinished, the pseudo-header sum, as a veth peer or a capture on lo sees it.
    func wireFrame(_ skb: SkBuff, partial: Bool) -> [UInt8] {
        let nh = skb.networkHeader
        // A tag still the skb's goes back in front of the frame's own type (validate_xmit_vlan).
        let mac = skb.vlanTagged && nh >= 18 ? 18 : 14
        var frame = Array(skb.data[(nh - mac)..<skb.len])
        if partial, let off = skb.csumPartialOffset {
            let b = skb.data
            let ps: UInt32
            if skb.protocolType == EtherType.ipv6 {
                ps = PseudoHeader.v6(IPv6Address(array: b, at: nh + 8), IPv6Address(array: b, at: nh + 24)).sum(proto: b[nh + 6], length: skb.len - skb.transportHeader)
            } else {
                let ihl = Int(b[nh] & 0x0f) * 4
                ps = Checksum.pseudoHeaderSum(src: IPv4Address(raw: b.be32(nh + 12)), dst: IPv4Address(raw: b.be32(nh + 16)), proto: b[nh + 9], length: skb.len - nh - ihl)
            }
            frame.setBE16(mac + off - nh, ~Checksum.finish(ps))
        }
        return frame
    }

    /// One frame onto the driver's ring and the wire.
    /// `owner`: the skb whose socket charge is given back when this frame is done.
    private func xmit_one(_ skb: SkBuff, dev: Int, cause: SkBuff, owner: SkBuff?) {
        let d = devices[dev]
        let partial = d.config.veth && d.config.txChecksumOffload && skb.csumPartialOffset != nil
        let frame = wireFrame(skb, partial: partial)
        let now = clocks[cause.cpu]
        let ser = d.serializationNs(frame.count)
        transmit(frame, dev: dev, cause: cause, csumPartial: partial)
        guard ser > 0 else {
            if let owner { sock_wfree(owner) }
            return
        }
        // The NIC serializes back to back; the descriptor is freed when the frame is out.
        let tx = d.tx
        let done = max(now, tx.busyUntil) &+ ser
        tx.busyUntil = done
        tx.inFlight.append(.init(done: done, sock: owner?.sock, charge: owner?.wmemCharge ?? 0, bytes: frame.count))
        if let owner { owner.sock = nil; owner.wmemCharge = 0 }
        schedule(done, .txComplete(device: dev))
        if tx.inFlight.count >= tx.ringSize { tx.stopped = true }
        // netdev_tx_sent_queue: BQL stops the queue once the bytes on the ring pass its limit.
        if tx.dql != nil {
            tx.dql!.queued(frame.count)
            if tx.dql!.avail < 0 { tx.bqlStopped = true }
        }
    }

    /// TX completion (the driver's `free_old_xmit` → `napi_consume_skb`): the descriptor is free,
    /// and a stopped queue wakes (`netif_tx_wake_queue`) and runs its qdisc again.
    func tx_complete(device dev: Int, at t: UInt64) {
        let tx = devices[dev].tx
        var bytes = 0
        while let first = tx.inFlight.first, first.done <= t {
            _ = tx.inFlight.popFirst()
            first.sock?.wmemAlloc -= first.charge
            bytes += first.bytes
        }
        let wasOff = tx.xoff
        // netdev_tx_completed_queue: BQL learns from each completion and lets the queue go again.
        if bytes > 0, tx.dql != nil {
            tx.dql!.completed(bytes, jiffies: t / 4_000_000)
            if tx.dql!.avail >= 0 { tx.bqlStopped = false }
        }
        if tx.stopped && tx.inFlight.count < tx.ringSize { tx.stopped = false }
        guard wasOff, !tx.xoff else { return }
        if clocks[tx.cpu] < t { clocks[tx.cpu] = t }
        __qdisc_run(dev: dev, caller: nil)
    }

    /// Puts a frame on a device's wire and counts it. A veth's tx counters are its peer's rx
    /// counters: a peer with NAPI (XDP or GRO) counts an skb after `eth_type_trans` pulled the
    /// Ethernet header, but an XDP frame (`ndo_xdp_xmit`) whole.
    func transmit(_ frame: [UInt8], dev: Int, cause: SkBuff?, csumPartial: Bool = false, xdpFrame: Bool = false) {
        let d = devices[dev]
        d.stats.tx_packets += 1
        d.stats.tx_bytes += d.config.veth && d.config.vethPeer != .plain && !xdpFrame ? max(frame.count - EthernetFrame.headerLength, 0) : frame.count
        tapFrame(frame, dev: dev, cause: cause, csumPartial: csumPartial)
    }

    /// `dev_queue_xmit_nit`: what taps (tcpdump) see leave a device, kept in the cause's trace
    /// (`emitted`), the `wire` capture and what timers sent.
    func tapFrame(_ frame: [UInt8], dev: Int, cause: SkBuff?, csumPartial: Bool) {
        let t = cause.map { clocks[$0.cpu] } ?? clockNs
        recordEmitted(cause, device: dev, frame: frame, at: t, csumPartial: csumPartial)
        if captureWire { wire.append(EmittedFrame(device: devices[dev].name, frame: frame, timeNs: t, csumPartial: csumPartial)) }
        if timerFrames != nil && (cause?.packet ?? -1) < 0 {
            timerFrames!.append(EmittedFrame(device: devices[dev].name, frame: frame, timeNs: t, csumPartial: csumPartial))
        }
    }

    /// A qdisc handle as tc prints it (`1:`, `8001:`).
    static func handleText(_ h: UInt32) -> String { String(h, radix: 16) + ":" }
}
