import Foundation
import HTTPServer
import Kernel
import Store

// GET /metrics: every stack's counters in the Prometheus text exposition format.
extension App {
    func registerMetricsRoute() {
        router.add("GET", "/metrics") { [unowned self] req, _ throws(Problem) in try metrics(req) }
    }

    func metrics(_ req: HTTPRequest) throws(Problem) -> HTTPResponse {
        try Query(req.query).finish()
        var families: [String: (help: String, lines: [String])] = [:]
        func add(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Int) {
            let l = labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
            families[name, default: (help, [])].lines.append("\(name){\(l)} \(value)")
        }
        let entries = registry.all()
        for e in entries {
            e.withStack { s in
                let st = s.config.name
                for d in s.devices {
                    for (k, v) in counterFields(d.stats) {
                        add("packetstack_device_\(k)_total", "Device counter \(k) (ip -s link).", [("stack", st), ("device", d.name)], v)
                    }
                }
                for (group, value) in [("Ip", s.snmp.ip as Any), ("Udp", s.snmp.udp), ("Tcp", s.snmp.tcp), ("TcpExt", s.snmp.tcpExt), ("Icmp", s.snmp.icmp)] {
                    for (k, v) in counterFields(value) {
                        add("packetstack_snmp_total", "SNMP MIB counters (/proc/net/snmp).", [("stack", st), ("group", group), ("name", k)], v)
                    }
                }
                for (k, v) in s.snmp.icmp.icmpMsg {
                    add("packetstack_snmp_total", "SNMP MIB counters (/proc/net/snmp).", [("stack", st), ("group", "IcmpMsg"), ("name", k)], v)
                }
                for (k, v) in s.snmp.snmp6 {
                    add("packetstack_snmp6_total", "IPv6 MIB counters (/proc/net/snmp6).", [("stack", st), ("name", k)], v)
                }
                for c in s.softnetStats {
                    let labels = [("stack", st), ("cpu", String(c.cpu))]
                    add("packetstack_softnet_processed_total", "Packets processed per CPU (softnet_stat column 1).", labels, c.processed)
                    add("packetstack_softnet_dropped_total", "Backlog drops per CPU (softnet_stat column 2).", labels, c.dropped)
                    add("packetstack_softnet_time_squeeze_total", "net_rx_action budget or time exhausted (softnet_stat column 3).", labels, c.timeSqueeze)
                    add("packetstack_softnet_received_rps_total", "RPS IPIs received (softnet_stat column 10).", labels, c.receivedRPS)
                }
                let outcomes = e.outcomes.map { (outcome: $0.key.outcome.rawValue, reason: $0.key.dropReason?.rawValue ?? "", n: $0.value) }
                for o in outcomes.sorted(by: { ($0.outcome, $0.reason) < ($1.outcome, $1.reason) }) {
                    add("packetstack_packet_outcomes_total", "Injected packets by outcome and kernel drop reason.",
                        [("stack", st), ("outcome", o.outcome), ("drop_reason", o.reason)], o.n)
                }
                add("packetstack_conntrack_entries", "Connections in the conntrack table.", [("stack", st)], s.conntrackStats.entries)
                add("packetstack_virtual_clock_ns", "The stack's virtual time.", [("stack", st)], Int(s.clockNs))
            }
        }
        var out = "# HELP packetstack_stacks Stacks loaded.\n# TYPE packetstack_stacks gauge\npacketstack_stacks \(entries.count)\n"
        out += requestLog.exposition()
        out += serverExposition(serverCounters.snapshot)
        out += traceWriterExposition(store.traceWriterStats)
        for name in families.keys.sorted() {
            let f = families[name]!
            out += "# HELP \(name) \(f.help)\n# TYPE \(name) \(name.hasSuffix("_total") ? "counter" : "gauge")\n"
            out += f.lines.joined(separator: "\n") + "\n"
        }
        return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: out)
    }

    /// What the HTTP server refused or dropped before a request reached a handler.
    private func serverExposition(_ v: ServerCounters.Values) -> String {
        var out = ""
        for (name, help, n) in [("packetstack_http_connections_refused_total", "Connections answered 503 at --max-connections (every one busy).", v.refused),
                                ("packetstack_http_connections_evicted_total", "Connections closed at --max-connections to admit a new one (longest waiting, nothing in progress).", v.evicted),
                                ("packetstack_http_requests_timed_out_total", "Requests answered 408 (head or body not received in time).", v.timedOut),
                                ("packetstack_http_requests_cancelled_total", "Requests not run because their client closed the connection or reset the stream first.", v.cancelled)] {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(n)\n"
        }
        return out
    }

    private func traceWriterExposition(_ w: TraceWriterStats) -> String {
        var out = ""
        for (name, help, type, v) in [("packetstack_trace_queue_rows", "Trace rows waiting for the database.", "gauge", w.queued),
                                      ("packetstack_trace_queue_bytes", "What the rows waiting for the database hold in memory, about (--trace-queue-bytes bounds it).", "gauge", w.queuedBytes),
                                      ("packetstack_traces_enqueued_total", "Trace rows handed to the writer.", "counter", w.enqueued),
                                      ("packetstack_traces_committed_total", "Trace rows the writer has finished (stored or failed).", "counter", w.committed),
                                      ("packetstack_traces_failed_total", "Trace rows the database refused (their stack deleted meanwhile); never answered durable.", "counter", w.failed),
                                      ("packetstack_traces_dropped_total", "Trace rows dropped because the writer's queue was full (--trace-overflow drop); never answered durable.", "counter", w.dropped),
                                      ("packetstack_traces_retention_deleted_total", "Trace rows deleted by stacks' retention (max_age_s, max_traces).", "counter", retentionDeleted.value)] {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(v)\n"
        }
        let h = "packetstack_trace_batch_commit_seconds"
        out += "# HELP \(h) Time to commit one batch of trace rows (one transaction, synchronous=FULL).\n# TYPE \(h) histogram\n"
        for (i, b) in TraceWriterStats.bounds.enumerated() { out += "\(h)_bucket{le=\"\(b)\"} \(w.buckets[i])\n" }
        out += "\(h)_bucket{le=\"+Inf\"} \(w.batches)\n\(h)_sum \(w.secondsSum)\n\(h)_count \(w.batches)\n"
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
