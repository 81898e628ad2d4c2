import Kernel

// net/sched/sch_api.c (tc_modify_qdisc, tc_get_qdisc with RTM_DELQDISC) on the model's trees:
// one root per device and, under a classful root, one child.
extension TC {
    /// The list of configured qdiscs after `cmd`, or the kernel's refusal.
    public static func apply(_ cmd: TCCommand, to list: [QdiscConfig], devices: [String], classes: [TCClassConfig] = []) throws(TCError) -> [QdiscConfig] {
        guard devices.contains(cmd.dev) else { throw TCError("Cannot find device \"\(cmd.dev)\"", kernel: true) }
        var list = list
        let root = list.firstIndex { $0.dev == cmd.dev && $0.parent == nil }
        // Where the command points: the root, or the child under `parent`.
        let slot: Int?
        if let p = cmd.parent {
            guard let r = root, list[r].handle == p.major else {
                // `parent X:` with no minor names the qdisc X itself.
                throw TCError("Error: Failed to find specified qdisc", kernel: true)
            }
            guard list[r].spec.classful else { throw TCError("Error: Specified qdisc kind is classless.", kernel: true) }
            if case .htb = list[r].spec {
                // htb_graft: only a leaf class takes a qdisc.
                let id = p.major << 16 | p.minor
                guard classes.contains(where: { $0.dev == cmd.dev && $0.classid == id }) else { throw TCError("Error: Specified class not found.", kernel: true) }
                guard !classes.contains(where: { $0.dev == cmd.dev && $0.parent == id }) else { throw TCError("RTNETLINK answers: Invalid argument", kernel: true) }
                slot = list.firstIndex { $0.dev == cmd.dev && $0.parent?.major == p.major && $0.parent?.minor == p.minor }
            } else {
                // tbf has one class: any minor names it.
                slot = list.firstIndex { $0.dev == cmd.dev && $0.parent != nil }
            }
        } else {
            slot = root
        }
        switch cmd.op {
        case .del:
            guard let s = slot else {
                throw TCError(cmd.parent == nil ? "Error: Cannot delete qdisc with handle of zero." : "Error: Failed to find qdisc with specified handle.", kernel: true)
            }
            if let h = cmd.handle, h != list[s].handle { throw TCError("Error: Specified handle does not match qdisc's handle.", kernel: true) }
            if let k = cmd.spec?.kind, k != list[s].spec.kind { throw TCError("Error: Invalid qdisc name.", kernel: true) }
            // Deleting a root takes its children with it.
            if list[s].parent == nil { list.removeAll { $0.dev == cmd.dev } } else { list.remove(at: s) }
            return list
        case .add:
            if let s = slot {
                if let h = cmd.handle, h != list[s].handle { throw TCError("Error: NLM_F_REPLACE needed to override.", kernel: true) }
                throw TCError("Error: Exclusivity flag on, cannot modify.", kernel: true)
            }
        case .change:
            guard slot != nil else { throw TCError("Error: Qdisc not found. To create specify NLM_F_CREATE flag.", kernel: true) }
        case .replace:
            break
        }
        let spec = cmd.spec!
        if let h = cmd.handle, list.contains(where: { $0.dev == cmd.dev && $0.handle == h && (slot == nil || $0 != list[slot!]) }) {
            throw TCError("Error: Exclusivity flag on, cannot modify.", kernel: true)
        }
        if let s = slot {
            let old = list[s]
            // Same kind: qdisc_change keeps the qdisc (and its handle); another kind is grafted new.
            if old.spec.kind == spec.kind && (cmd.handle == nil || cmd.handle == old.handle) {
                list[s].spec = spec
                // tbf_change → fifo_set_limit: a pfifo or bfifo child takes the new limit (a
                // pfifo reads the byte figure as packets, as the kernel's does).
                if case .tbf(let t) = spec, old.parent == nil,
                   let c = list.firstIndex(where: { $0.dev == cmd.dev && $0.parent != nil }) {
                    switch list[c].spec {
                    case .pfifo: list[c].spec = .pfifo(limit: t.limit)
                    case .bfifo: list[c].spec = .bfifo(limit: t.limit)
                    default: break
                    }
                }
                return list
            }
            var new = QdiscConfig(dev: cmd.dev, handle: cmd.handle ?? autoHandle(list), parent: old.parent, spec: spec)
            new.parent = old.parent
            list[s] = new
            // A new root drops the old one's children.
            if old.parent == nil { list.removeAll { $0.dev == cmd.dev && $0.parent != nil } }
            return list
        }
        list.append(QdiscConfig(dev: cmd.dev, handle: cmd.handle ?? autoHandle(list), parent: cmd.parent.map { ($0.major, $0.minor) }, spec: spec))
        return list
    }

    /// `qdisc_alloc_handle`: the kernel counts up from 8001:; here, one past the highest taken.
    static func autoHandle(_ list: [QdiscConfig]) -> UInt32 {
        (list.map(\.handle).filter { $0 >= 0x8001 }.max() ?? 0x8000) + 1
    }
}
