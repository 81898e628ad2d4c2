import CNGHTTP2
import Glibc

/// One HTTP/2 request/response exchange; lives until nghttp2 closes the stream.
final class H2Stream {
    var headers: [(name: String, value: String)] = []
    var method = ""
    var path = ""
    var body: [UInt8] = []
    var headerBytes = 0
    var headersTooLarge = false
    var bodyTooLarge = false
    var dispatched = false
    var response: [UInt8] = []
    var responseOffset = 0
}

/// An nghttp2 server session bound to one connection; touched only by the loop thread.
final class H2Session {
    private(set) var session: OpaquePointer?
    var streams: [Int32: H2Stream] = [:]
    unowned let connection: Connection
    let maxHeaderBytes: Int
    let maxBodyBytes: Int

    init(connection: Connection, maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.connection = connection
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        var cbs: OpaquePointer?
        nghttp2_session_callbacks_new(&cbs)
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2OnBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(cbs, h2OnHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2OnFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2OnDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2OnStreamClose)
        nghttp2_session_server_new(&session, cbs, Unmanaged.passUnretained(self).toOpaque())
        nghttp2_session_callbacks_del(cbs)
    }

    deinit { nghttp2_session_del(session) }

    func submitSettings() {
        var iv = [nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: 128),
                  nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 1 << 20)]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count)
    }

    /// h2c Upgrade (RFC 7540 §3.2): the HTTP/1.1 request becomes stream 1.
    func upgrade(settings: [UInt8], request: HTTPRequest) -> Bool {
        let isHead: Int32 = request.method == "HEAD" ? 1 : 0
        let rv = settings.withUnsafeBufferPointer { p in
            nghttp2_session_upgrade2(session, p.baseAddress, p.count, isHead, nil)
        }
        guard rv == 0 else { return false }
        submitSettings()
        let s = H2Stream()
        s.method = request.method; s.path = request.path + (request.query.isEmpty ? "" : "?" + request.query)
        s.headers = request.headers; s.body = request.body; s.dispatched = true
        streams[1] = s
        return true
    }

    /// Feeds received bytes; false means a protocol error closed the session.
    func receive(_ bytes: [UInt8]) -> Bool {
        let rv = bytes.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) }
        return rv >= 0
    }

    /// Moves nghttp2's pending output into the connection's write buffer.
    func flush(into out: inout [UInt8]) {
        while true {
            var ptr: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &ptr)
            if n <= 0 { break }
            out.append(contentsOf: UnsafeBufferPointer(start: ptr, count: n))
        }
    }

    var isDone: Bool { nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 }

    func goAway() {
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
                              NGHTTP2_NO_ERROR.rawValue, nil, 0)
    }

    func submit(_ r: HTTPResponse, stream id: Int32, date: String) {
        guard let s = streams[id] else { return }
        let isHead = s.method == "HEAD"
        var fields: [(String, String)] = [(":status", String(r.status)), ("date", date)]
        for h in r.headers { fields.append((h.name.lowercased(), h.value)) }
        fields.append(("content-length", String(r.body.count)))
        s.response = isHead ? [] : r.body
        s.responseOffset = 0
        // nghttp2 copies names and values when the NO_COPY flags are unset, so one scratch buffer serves all.
        var scratch: [UInt8] = []
        var spans: [(Int, Int, Int, Int)] = []
        for (n, v) in fields {
            let ns = scratch.count; scratch.append(contentsOf: n.utf8)
            let vs = scratch.count; scratch.append(contentsOf: v.utf8)
            spans.append((ns, vs - ns, vs, scratch.count - vs))
        }
        scratch.append(0)
        scratch.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            var nva = spans.map {
                nghttp2_nv(name: base + $0.0, value: base + $0.2, namelen: $0.1, valuelen: $0.3,
                           flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            if s.response.isEmpty {
                nghttp2_submit_response(session, id, &nva, nva.count, nil)
            } else {
                var provider = nghttp2_data_provider()
                provider.read_callback = h2ReadBody
                nghttp2_submit_response(session, id, &nva, nva.count, &provider)
            }
        }
    }
}

@inline(__always) private func owner(_ ud: UnsafeMutableRawPointer?) -> H2Session {
    Unmanaged<H2Session>.fromOpaque(ud!).takeUnretainedValue()
}

private let h2OnBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, ud in
    guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
          frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
    owner(ud).streams[frame.pointee.hd.stream_id] = H2Stream()
    return 0
}

private let h2OnHeader: nghttp2_on_header_callback = { _, frame, name, namelen, value, valuelen, _, ud in
    guard let frame, let s = owner(ud).streams[frame.pointee.hd.stream_id] else { return 0 }
    let o = owner(ud)
    s.headerBytes += namelen + valuelen + 32
    if s.headerBytes > o.maxHeaderBytes { s.headersTooLarge = true; return 0 }
    let n = String(decoding: UnsafeBufferPointer(start: name, count: namelen), as: UTF8.self)
    let v = String(decoding: UnsafeBufferPointer(start: value, count: valuelen), as: UTF8.self)
    switch n {
    case ":method": s.method = v
    case ":path": s.path = v
    default: if !n.hasPrefix(":") { s.headers.append((n, v)) }
    }
    return 0
}

private let h2OnFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, ud in
    guard let frame else { return 0 }
    let t = frame.pointee.hd.type
    guard t == UInt8(NGHTTP2_HEADERS.rawValue) || t == UInt8(NGHTTP2_DATA.rawValue),
          frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
    let o = owner(ud)
    let id = frame.pointee.hd.stream_id
    guard let s = o.streams[id], !s.dispatched else { return 0 }
    s.dispatched = true
    o.connection.h2RequestComplete(stream: id, s)
    return 0
}

private let h2OnDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, len, ud in
    guard let s = owner(ud).streams[streamID], let data else { return 0 }
    if s.body.count + len > owner(ud).maxBodyBytes { s.bodyTooLarge = true; return 0 }
    s.body.append(contentsOf: UnsafeBufferPointer(start: data, count: len))
    return 0
}

private let h2OnStreamClose: nghttp2_on_stream_close_callback = { _, streamID, _, ud in
    owner(ud).streams[streamID] = nil
    return 0
}

private let h2ReadBody: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, ud in
    guard let s = owner(ud).streams[streamID], let buf, let flags else {
        return ssize_t(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }
    let n = min(length, s.response.count - s.responseOffset)
    s.response.withUnsafeBufferPointer { p in
        buf.update(from: p.baseAddress! + s.responseOffset, count: n)
    }
    s.responseOffset += n
    if s.responseOffset == s.response.count { flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue) }
    return n
}
