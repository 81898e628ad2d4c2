import CNGHTTP2
import Glibc

/// One HTTP/2 request/response exchange; lives until nghttp2 closes the stream.
final class H2Stream {
    var headers: [HTTPHeader] = []
    var method = ""
    var path = ""
    var body: [UInt8] = []
    var headerBytes = 0
    var headersTooLarge = false
    /// The request is answered with this problem (status, detail) without reading the rest of its body.
    var refusal: (status: Int, detail: String)?
    /// Where a spooled media type's body goes as it arrives.
    var spool: SpooledBody?
    /// Answered before the client finished sending: reset the stream once the answer is out.
    var resetAfterAnswer = false
    var dispatched = false
    /// The handler's answer was submitted (a stream closed before that was abandoned by its client).
    var answered = false
    var response: [UInt8] = []
    var responseOffset = 0
    /// The answer's body comes in pieces (`response` holds what is not yet sent); `ended` once the last came.
    var streaming = false
    var ended = false
    /// Neighbours in the session's list of open streams.
    var next: H2Stream?
    unowned(unsafe) var prev: H2Stream?

    /// Ready for another request: emptied, keeping the header list's storage when nothing else
    /// shares it (a request handed to a worker keeps its own copy).
    func clear() {
        headers.removeAll(keepingCapacity: true)
        method = ""; path = ""
        body = []
        headerBytes = 0; headersTooLarge = false
        refusal = nil; spool = nil
        resetAfterAnswer = false; dispatched = false; answered = false
        response = []; responseOffset = 0
        streaming = false; ended = false
    }
}

/// An nghttp2 server session bound to one connection; touched only by the loop thread.
final class H2Session {
    private(set) var session: OpaquePointer?
    /// Owns the open streams, a list linked through them (no table to hash into per stream);
    /// callbacks find them through nghttp2's stream user data.
    private var first: H2Stream?
    private(set) var openStreams = 0
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
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2OnFrameSend)
        nghttp2_session_server_new(&session, cbs, Unmanaged.passUnretained(self).toOpaque())
        nghttp2_session_callbacks_del(cbs)
    }

    deinit {
        nghttp2_session_del(session)
        while let s = first { first = s.next; s.next = nil }
    }

    var config: ServerConfig { connection.server.config }

    /// A request of a spooled media type gets its file when its head is in.
    func startSpool(_ s: H2Stream, stream id: Int32) {
        let limit = config.maxSpooledBodyBytes
        if let cl = s.headers.first(where: { $0.name == "content-length" }), let n = Int(cl.value), n > limit {
            return refuseBody(s, stream: id, detail: "body of \(n) bytes exceeds the limit of \(limit) for \(HTTPRequest.mediaType(s.headers))")
        }
        guard let body = SpooledBody(directory: config.spoolDirectory) else {
            return refuseBody(s, stream: id, status: 500, detail: "no temporary file for the body in \(config.spoolDirectory): \(String(cString: strerror(errno)))")
        }
        s.spool = body
    }

    func stream(_ id: Int32) -> H2Stream? {
        guard let p = nghttp2_session_get_stream_user_data(session, id) else { return nil }
        return Unmanaged<H2Stream>.fromOpaque(p).takeUnretainedValue()
    }

    /// Keeps a new stream alive until on_stream_close; returns the pointer to store as its user data.
    func adopt(_ s: H2Stream) -> UnsafeMutableRawPointer {
        s.next = first
        first?.prev = s
        first = s
        openStreams += 1
        return Unmanaged.passUnretained(s).toOpaque()
    }

    /// The stream whose request header block is coming in, so each header field finds it
    /// without asking nghttp2.
    var receiving: (id: Int32, stream: H2Stream)?

    func release(_ s: H2Stream) {
        if receiving?.stream === s { receiving = nil }
        s.next?.prev = s.prev
        if let p = s.prev { p.next = s.next } else { first = s.next }
        s.prev = nil; s.next = nil
        openStreams -= 1
        if spare.count < 16 { s.clear(); spare.append(s) }
    }

    /// Closed streams kept for the next requests: making and tearing down a stream per request
    /// was a twentieth of a small request's instructions.
    private var spare: [H2Stream] = []

    /// A stream for a new request.
    func newStream() -> H2Stream { spare.popLast() ?? H2Stream() }

    /// The header fields of the last requests by position: a client sends the same ones on every
    /// request (user-agent, accept...), and a field equal to the one remembered is shared, not
    /// made and checked again.
    private var lastHeaders: [HTTPHeader] = []

    func header(at i: Int, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> HTTPHeader {
        if i < lastHeaders.count, Self.equal(lastHeaders[i].name, name), Self.equal(lastHeaders[i].value, value) { return lastHeaders[i] }
        let h = HTTPHeader(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        if i < lastHeaders.count { lastHeaders[i] = h } else if i == lastHeaders.count && i < 16 { lastHeaders.append(h) }
        return h
    }

    private static func equal(_ s: String, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.utf8.count == b.count else { return false }
        guard b.count > 0 else { return true }
        return s.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 } ?? s.utf8.elementsEqual(b)
    }

    /// A body over the limit (413), or one its file cannot take, is answered at once, not read
    /// to its end (RFC 9113 §8.1: a complete answer may precede the end of the request, followed
    /// by RST_STREAM NO_ERROR).
    func refuseBody(_ s: H2Stream, stream id: Int32, status: Int = 413, detail: String? = nil) {
        s.refusal = (status, detail ?? "body exceeds the limit of \(maxBodyBytes) bytes")
        s.dispatched = true
        s.body = []
        s.spool = nil
        s.resetAfterAnswer = true
        connection.h2RequestComplete(stream: id, s)
    }

    func submitSettings() {
        var iv = [nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: 128),
                  nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 1 << 20)]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count)
    }

    /// h2c Upgrade (RFC 7540 §3.2): the HTTP/1.1 request becomes stream 1.
    func upgrade(settings: [UInt8], request: HTTPRequest) -> Bool {
        let isHead: Int32 = request.method == "HEAD" ? 1 : 0
        let s = newStream()
        s.method = request.method; s.path = request.path + (request.query.isEmpty ? "" : "?" + request.query)
        s.headers = request.headers; s.body = request.body; s.dispatched = true
        let ptr = adopt(s)
        let rv = settings.withUnsafeBufferPointer { p in
            nghttp2_session_upgrade2(session, p.baseAddress, p.count, isHead, ptr)
        }
        guard rv == 0 else { release(s); return false }
        // upgrade2 ignores stream_user_data on the server side; attach it explicitly.
        nghttp2_session_set_stream_user_data(session, 1, ptr)
        submitSettings()
        return true
    }

    /// Feeds received bytes; false means a protocol error closed the session.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let rv = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rv >= 0 { return true }
        // Fatal: say why in a GOAWAY unless nghttp2 already queued one (it cannot for a peer that
        // floods without reading, which is simply closed). Too many CONTINUATION frames and
        // other floods are ENHANCE_YOUR_CALM, anything else PROTOCOL_ERROR.
        if Int32(rv) != NGHTTP2_ERR_FLOODED.rawValue {
            let calm = Int32(rv) == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue
            nghttp2_session_terminate_session(session, calm ? NGHTTP2_ENHANCE_YOUR_CALM.rawValue : NGHTTP2_PROTOCOL_ERROR.rawValue)
        }
        return false
    }

    /// Moves nghttp2's pending output into the connection's write buffer while its unsent part
    /// is under the high-water mark: a client that never reads leaves the rest inside nghttp2, which stops reading its
    /// frames too (and answers floods of control frames by closing).
    func flush(into out: inout [UInt8], sent: Int) {
        while out.count - sent <= Connection.outputHighWater {
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

    /// Submits a streamed answer's head; its pieces follow through `appendPiece`. False when the
    /// stream is gone.
    func submitStreaming(_ r: HTTPResponse, stream id: Int32, date: String) -> Bool {
        guard let s = stream(id) else { return false }
        s.streaming = true
        submit(r, stream: id, date: date)
        return true
    }

    /// A piece of a streamed answer (or its end); false when the stream is gone.
    func appendPiece(_ piece: [UInt8], stream id: Int32, end: Bool) -> Bool {
        guard let s = stream(id), s.streaming else { return false }
        if s.method == "HEAD" { return true }
        if s.responseOffset > 1 << 16 { s.response.removeFirst(s.responseOffset); s.responseOffset = 0 }
        s.response.append(contentsOf: piece)
        if end { s.ended = true }
        nghttp2_session_resume_data(session, id)
        return true
    }

    /// Bytes of streamed answers waiting for nghttp2 to send them (flow control may hold them).
    var bufferedPieces: Int {
        var n = 0
        var s = first
        while let t = s { if t.streaming { n += t.response.count - t.responseOffset }; s = t.next }
        return n
    }

    func submit(_ r: HTTPResponse, stream id: Int32, date: String) {
        guard let s = stream(id) else { return }
        s.answered = true
        s.response = s.method == "HEAD" ? [] : r.body
        s.responseOffset = 0
        // nghttp2 copies names and values (NO_COPY flags unset): the session's block serves every answer.
        let b = block
        var need = 80 + date.utf8.count + (r.requestID?.utf8.count ?? 0)
        for h in r.headers { need += h.name.utf8.count + h.value.utf8.count }
        b.begin(bytes: need, fields: r.headers.count + 5)
        b.add(":status", decimal: r.status)
        b.add(literal: "date", date)
        for h in r.headers { b.add(h.name, h.value) }
        // A value unique to this answer would only evict reusable entries from the client's
        // HPACK table (RFC 7541 §7.1.3): sent literally, never indexed.
        if let id = r.requestID { b.add(literal: "x-request-id", id, index: false) }
        if !s.streaming { b.add("content-length", decimal: r.body.count) }
        let bodyless = s.response.isEmpty && !(s.streaming && s.method != "HEAD")
        if bodyless {
            nghttp2_submit_response(session, id, b.list, b.count, nil)
        } else {
            var provider = nghttp2_data_provider()
            provider.read_callback = h2ReadBody
            nghttp2_submit_response(session, id, b.list, b.count, &provider)
        }
    }

    private let block = HeaderBlock()
}

/// An answer's header names and values in one buffer, and the list handed to nghttp2: raw
/// memory kept for the session's life, sized before each answer so the list can point into it
/// as it is written (appending to arrays, each append checking capacity and uniqueness, was a
/// tenth of a small answer's instructions).
private final class HeaderBlock {
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity = 512
    private var used = 0
    /// The name/value pairs handed to nghttp2: raw storage, no array bookkeeping per field.
    private(set) var list: UnsafeMutablePointer<nghttp2_nv>
    private var listCapacity = 16
    private(set) var count = 0

    init() {
        bytes = .allocate(capacity: capacity)
        list = .allocate(capacity: listCapacity)
    }
    deinit { bytes.deallocate(); list.deallocate() }

    /// Starts an answer of at most `fields` fields whose names and values take at most `n` bytes.
    func begin(bytes n: Int, fields: Int) {
        used = 0
        count = 0
        if n > capacity {
            bytes.deallocate()
            capacity = max(n, capacity * 2)
            bytes = .allocate(capacity: capacity)
        }
        if fields > listCapacity {
            list.deallocate()
            listCapacity = max(fields, listCapacity * 2)
            list = .allocate(capacity: listCapacity)
        }
    }

    @inline(__always) private func put(_ p: UnsafeRawBufferPointer) -> UnsafeMutablePointer<UInt8> {
        let at = bytes + used
        if let base = p.baseAddress { UnsafeMutableRawPointer(at).copyMemory(from: base, byteCount: p.count) }
        used += p.count
        return at
    }

    @inline(__always) private func append(_ name: UnsafeMutablePointer<UInt8>, _ nameLength: Int, _ value: UnsafeMutablePointer<UInt8>, _ valueLength: Int, index: Bool) {
        (list + count).initialize(to: nghttp2_nv(name: name, value: value, namelen: nameLength, valuelen: valueLength,
                                                 flags: UInt8(index ? NGHTTP2_NV_FLAG_NONE.rawValue : NGHTTP2_NV_FLAG_NO_INDEX.rawValue)))
        count += 1
    }

    /// A name as the application gave it, lower-cased as HTTP/2 requires.
    func add(_ name: String, _ value: String, index: Bool = true) {
        var name = name, value = value
        let (n, nl) = name.withUTF8 { p in
            let n = put(UnsafeRawBufferPointer(p))
            for k in 0..<p.count { n[k] = asciiLowercased(n[k]) }
            return (n, p.count)
        }
        let (v, vl) = value.withUTF8 { (put(UnsafeRawBufferPointer($0)), $0.count) }
        append(n, nl, v, vl, index: index)
    }

    /// A name the server writes itself (already lower case). Its own label: a literal would
    /// otherwise pick the String overload and its lower-casing pass.
    func add(literal name: StaticString, _ value: String, index: Bool = true) {
        var value = value
        let n = put(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        let (v, vl) = value.withUTF8 { (put(UnsafeRawBufferPointer($0)), $0.count) }
        append(n, name.utf8CodeUnitCount, v, vl, index: index)
    }

    func add(_ name: StaticString, decimal value: Int) {
        let n = put(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        var x = UInt(max(0, value)), digits = 0
        repeat { digits += 1; x /= 10 } while x > 0
        let v = bytes + used
        x = UInt(max(0, value))
        for k in stride(from: digits - 1, through: 0, by: -1) { v[k] = UInt8(ascii: "0") + UInt8(x % 10); x /= 10 }
        used += digits
        append(n, name.utf8CodeUnitCount, v, digits, index: true)
    }
}

@inline(__always) private func owner(_ ud: UnsafeMutableRawPointer?) -> H2Session {
    Unmanaged<H2Session>.fromOpaque(ud!).takeUnretainedValue()
}

private let h2OnBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, ud in
    guard let frame, frame.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue),
          frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
    let o = owner(ud)
    let id = frame.pointee.hd.stream_id
    let s = o.newStream()
    o.receiving = (id, s)
    nghttp2_session_set_stream_user_data(o.session, id, o.adopt(s))
    return 0
}

private let h2OnHeader: nghttp2_on_header_callback = { _, frame, name, namelen, value, valuelen, _, ud in
    guard let name, let frame else { return 0 }
    // The session at +0, without an atomic retain and release per header field: nghttp2 calls
    // back only from inside the session's own calls.
    return Unmanaged<H2Session>.fromOpaque(ud!)._withUnsafeGuaranteedRef {
        $0.onHeader(stream: frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: namelen),
                    value: UnsafeBufferPointer(start: value, count: valuelen))
    }
}

extension H2Session {
    /// A header field of a request's block: pseudo-headers fill the method and path, the rest
    /// the header list.
    func onHeader(stream id: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        unowned(unsafe) let s: H2Stream
        if let r = receiving, r.id == id { s = r.stream } else if let t = stream(id) { s = t } else { return 0 }
        s.headerBytes += name.count + value.count + 32
        if s.headerBytes > maxHeaderBytes { s.headersTooLarge = true; return 0 }
        func v() -> String { String(decoding: value, as: UTF8.self) }
        func valueIs(_ m: StaticString) -> Bool { value.count == m.utf8CodeUnitCount && memcmp(value.baseAddress!, m.utf8Start, value.count) == 0 }
        if name.count > 0 && name[0] == UInt8(ascii: ":") {
            if name.count == 7 && memcmp(name.baseAddress!, ":method", 7) == 0 {
                // The common methods as literals: no string to build and check.
                s.method = valueIs("GET") ? "GET" : valueIs("POST") ? "POST" : v()
            } else if name.count == 5 && memcmp(name.baseAddress!, ":path", 5) == 0 { s.path = v() }
        } else {
            s.headers.append(header(at: s.headers.count, name: name, value: value))
        }
        return 0
    }
}

private let h2OnFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, ud in
    guard let frame else { return 0 }
    let t = frame.pointee.hd.type
    if t == UInt8(NGHTTP2_HEADERS.rawValue), frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) == 0 {
        let o = owner(ud)
        let id = frame.pointee.hd.stream_id
        guard let s = o.stream(id), !s.dispatched else { return 0 }
        if o.config.spooledMediaTypes.contains(HTTPRequest.mediaType(s.headers)) {
            o.startSpool(s, stream: id)
        } else if let cl = s.headers.first(where: { $0.name == "content-length" }), let n = Int(cl.value), n > o.maxBodyBytes {
            o.refuseBody(s, stream: id)
        }
        return 0
    }
    guard t == UInt8(NGHTTP2_HEADERS.rawValue) || t == UInt8(NGHTTP2_DATA.rawValue),
          frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
    let o = owner(ud)
    let id = frame.pointee.hd.stream_id
    guard let s = o.stream(id), !s.dispatched else { return 0 }
    s.dispatched = true
    o.connection.h2RequestComplete(stream: id, s)
    return 0
}

private let h2OnDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, len, ud in
    let o = owner(ud)
    guard let s = o.stream(streamID), let data, s.refusal == nil else { return 0 }
    if let spool = s.spool {
        let limit = o.config.maxSpooledBodyBytes
        if spool.count + len > limit {
            o.refuseBody(s, stream: streamID, detail: "body exceeds the limit of \(limit) bytes for \(HTTPRequest.mediaType(s.headers))")
        } else if !spool.append(UnsafeRawBufferPointer(start: data, count: len)) {
            o.refuseBody(s, stream: streamID, status: 507, detail: "the body could not be written to \(o.config.spoolDirectory): \(String(cString: strerror(errno)))")
        }
        return 0
    }
    if s.body.count + len > o.maxBodyBytes { o.refuseBody(s, stream: streamID); return 0 }
    s.body.append(contentsOf: UnsafeBufferPointer(start: data, count: len))
    return 0
}

private let h2OnFrameSend: nghttp2_on_frame_send_callback = { session, frame, ud in
    guard let frame, frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
    let id = frame.pointee.hd.stream_id
    guard let s = owner(ud).stream(id), s.resetAfterAnswer,
          nghttp2_session_get_stream_remote_close(session, id) == 0 else { return 0 }
    nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_NO_ERROR.rawValue)
    return 0
}

private let h2OnStreamClose: nghttp2_on_stream_close_callback = { session, streamID, _, ud in
    let o = owner(ud)
    // Reset (or the connection lost) while its request waits for a worker: the worker skips it.
    guard let s = o.stream(streamID) else { return 0 }
    if s.dispatched, !s.answered { o.connection.server.cancel(connection: o.connection.id, stream: streamID) }
    nghttp2_session_set_stream_user_data(session, streamID, nil)
    o.release(s)
    return 0
}

private let h2ReadBody: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, ud in
    guard let s = owner(ud).stream(streamID), let buf, let flags else {
        return ssize_t(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }
    let n = min(length, s.response.count - s.responseOffset)
    // A streamed body with nothing to send yet waits (appendPiece resumes it).
    if n == 0 && s.streaming && !s.ended { return ssize_t(NGHTTP2_ERR_DEFERRED.rawValue) }
    if n > 0 {
        s.response.withUnsafeBufferPointer { p in
            buf.update(from: p.baseAddress! + s.responseOffset, count: n)
        }
    }
    s.responseOffset += n
    if s.responseOffset == s.response.count && (!s.streaming || s.ended) { flags.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue) }
    return n
}
