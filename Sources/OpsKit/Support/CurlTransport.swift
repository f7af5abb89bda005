import CCurl
import Foundation
import Synchronization

/// A transport that can hand a response body over piece by piece instead of holding it whole:
/// ClickHouse exports and `system.parts` dumps can be far larger than anything worth buffering.
package protocol StreamingHTTPTransport: HTTPTransport {
    /// Performs `request`, giving each piece of a 2xx body to `onChunk` as it arrives. The returned
    /// response has an empty body on 2xx; any other status comes back with its body buffered (up to
    /// `responseLimit`) so the caller can show the server's error text. An error thrown by `onChunk`
    /// aborts the transfer and is rethrown as is.
    func stream(_ request: HTTPRequest, interrupt: Interrupt, onChunk: (Data) throws -> Void) throws -> HTTPResponse
}

extension HTTPTransport {
    /// Streams through `stream` when the transport can; otherwise (fakes, decorators over
    /// non-streaming transports) sends the request whole and hands a 2xx body over as one chunk,
    /// so callers are written once against either kind.
    package func streaming(
        _ request: HTTPRequest, interrupt: Interrupt, onChunk: (Data) throws -> Void
    ) throws -> HTTPResponse {
        if let streaming = self as? any StreamingHTTPTransport {
            return try streaming.stream(request, interrupt: interrupt, onChunk: onChunk)
        }
        var response = try send(request, interrupt: interrupt)
        guard (200..<300).contains(response.status) else { return response }
        if !response.body.isEmpty { try onChunk(response.body) }
        response.body = Data()
        return response
    }
}

/// The live `HTTPTransport`, over libcurl's easy interface.
///
/// Easy handles are pooled: a handle returned to the pool keeps its connection cache (and DNS and
/// TLS session caches) across `curl_easy_reset`, so a command that runs many queries against one
/// ClickHouse node pays for one TCP (and TLS) handshake, not one per query. Each transfer takes a
/// handle of its own, so the transport is safe to use from several threads at once.
///
/// Nothing touches libcurl until the first request: `luminatectl --version` builds the live
/// context too, and `curl_global_init` (which loads OpenSSL's configuration) costs milliseconds.
package final class CurlTransport: StreamingHTTPTransport {
    /// Extra CA certificates (PEM) to trust, for servers behind a private certificate authority.
    package let caFile: String?
    /// Skips certificate and host name verification. Only ever set from an explicit operator flag;
    /// the CLI prints the warning.
    package let insecureSkipTLSVerify: Bool
    package let userAgent: String
    /// Idle handles kept for reuse; more concurrent transfers than this still work, their extra
    /// handles (and connections) are closed when they finish.
    package let maxIdleHandles: Int

    private let idle = Mutex<[EasyHandle]>([])

    package init(
        caFile: String? = nil,
        insecureSkipTLSVerify: Bool = false,
        userAgent: String = "luminatectl",
        maxIdleHandles: Int = 8
    ) {
        self.caFile = caFile
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.userAgent = userAgent
        self.maxIdleHandles = maxIdleHandles
    }

    deinit {
        for handle in idle.withLock({ $0 }) { luminate_curl_easy_cleanup(handle.pointer) }
    }

    package func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        try perform(request, interrupt: interrupt, onChunk: nil)
    }

    package func stream(
        _ request: HTTPRequest, interrupt: Interrupt, onChunk: (Data) throws -> Void
    ) throws -> HTTPResponse {
        try withoutActuallyEscaping(onChunk) { onChunk in
            try perform(request, interrupt: interrupt, onChunk: onChunk)
        }
    }

    /// Idle handles in the pool right now; for tests of reuse.
    package var idleHandleCount: Int { idle.withLock { $0.count } }

    // MARK: - One transfer

    private func perform(
        _ request: HTTPRequest, interrupt: Interrupt, onChunk: ((Data) throws -> Void)?
    ) throws -> HTTPResponse {
        let host = hostOf(url: request.url)
        if interrupt.isSet { throw HTTPTransportError.interrupted(host: host) }
        let initCode: CURLcode
        switch CurlTransport.globalInit {
        case .success(let code): initCode = code
        case .failure(let missing):
            throw HTTPTransportError.transport(
                host: host, curlCode: Int(CURLE_FAILED_INIT.rawValue),
                message: "libcurl could not be loaded (\(missing.reason)); install it with apt-get install libcurl4")
        }
        guard initCode == CURLE_OK else {
            throw HTTPTransportError.transport(
                host: host, curlCode: Int(initCode.rawValue),
                message: "libcurl failed to initialise: \(Self.describe(initCode))")
        }
        let handle = try checkOut(host: host)
        defer { checkIn(handle) }
        let curl = handle.pointer

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { luminate_curl_slist_free_all(headerList) }
        for line in try headerLines(request, host: host) {
            guard let appended = luminate_curl_slist_append(headerList, line) else {
                throw HTTPTransportError.transport(
                    host: host, curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "cannot build request headers")
            }
            headerList = appended
        }

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer {
            // The handle must forget the buffer before it is freed; checkIn's reset runs later.
            _ = luminate_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, nil)
            errorBuffer.deallocate()
        }

        if request.body != nil && request.bodyFile != nil {
            throw HTTPTransportError.transport(
                host: host, curlCode: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                message: "a request has a body or a body file, not both")
        }
        // Opened (and checked against the file's size) before anything is sent.
        let upload = try request.bodyFile.map { try FileRangeReader(opening: $0) }
        let transfer = Transfer(
            handle: curl, limit: request.responseLimit, interrupt: interrupt, onChunk: onChunk, upload: upload)
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()

        let options = OptionSetter(curl: curl, host: host)
        try options.string(CURLOPT_URL, request.url, "URL")
        // Only http(s): a URL from a config file must not make us read file:// or talk gopher.
        try options.string(CURLOPT_PROTOCOLS_STR, "http,https", "protocols")
        try options.long(CURLOPT_NOSIGNAL, 1, "nosignal")
        try options.pointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer), "error buffer")
        // Redirects are never followed: the next hop would receive X-ClickHouse-Key/Authorization.
        try options.long(CURLOPT_FOLLOWLOCATION, 0, "redirects")
        try options.long(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout), "connect timeout")
        try options.long(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout), "timeout")
        if let stall = request.stallTimeout {
            // Less than one byte a second for that long, either way, is a stall.
            try options.long(CURLOPT_LOW_SPEED_LIMIT, 1, "stall limit")
            try options.long(CURLOPT_LOW_SPEED_TIME, max(1, Int(stall.rounded(.up))), "stall timeout")
        }
        // Long ClickHouse queries sit silent for minutes; keepalive probes stop NAT and load
        // balancers from dropping the idle connection underneath them.
        try options.long(CURLOPT_TCP_KEEPALIVE, 1, "tcp keepalive")
        try options.string(CURLOPT_USERAGENT, userAgent, "user agent")
        try configureTLS(options)
        try options.slist(CURLOPT_HTTPHEADER, headerList, "headers")
        if let signing = request.awsSigV4 {
            // libcurl signs with the secret and sends only the signature. USERNAME and PASSWORD
            // rather than USERPWD's `key:secret`, which would split a key at its first colon.
            try options.string(CURLOPT_AWS_SIGV4, signing.provider, "aws-sigv4")
            try options.string(CURLOPT_USERNAME, signing.accessKeyID, "aws access key id")
            try options.string(CURLOPT_PASSWORD, signing.secretAccessKey, "aws secret access key")
        }

        try options.callback(CURLOPT_WRITEFUNCTION, "write callback") { data, size, count, userdata in
            guard let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }
        try options.pointer(CURLOPT_WRITEDATA, userdata, "write data")
        try options.callback(CURLOPT_HEADERFUNCTION, "header callback") { data, size, count, userdata in
            guard let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        }
        try options.pointer(CURLOPT_HEADERDATA, userdata, "header data")
        // The progress callback is how an interrupt reaches a transfer in flight. libcurl calls it
        // many times a second while data moves and about once a second while a server is silent.
        try options.long(CURLOPT_NOPROGRESS, 0, "progress")
        try options.check(luminate_curl_setopt_progress_callback(curl) { clientp, _, _, _, _ in
            guard let clientp else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
            return transfer.shouldAbort() ? 1 : 0
        }, "progress callback")
        try options.pointer(CURLOPT_XFERINFODATA, userdata, "progress data")

        let code: CURLcode = try withExtendedLifetime(transfer) {
            if let upload {
                try configureUpload(request.method.uppercased(), upload, userdata: userdata, options)
                return luminate_curl_easy_perform(curl)
            }
            return try withBody(request) { body in
                try configureMethod(request.method.uppercased(), body: body, options)
                return luminate_curl_easy_perform(curl)
            }
        }

        if transfer.interrupted { throw HTTPTransportError.interrupted(host: host) }
        if let upload, let failure = upload.failure {
            throw HTTPBodyFileError(path: upload.path, reason: failure)
        }
        if transfer.limitExceeded { throw HTTPTransportError.responseTooLarge(host: host, limit: request.responseLimit) }
        if let error = transfer.chunkError { throw error }
        guard code == CURLE_OK else {
            let message = String(cString: errorBuffer)
            let text = message.isEmpty ? Self.describe(code) : message
            if code == CURLE_OPERATION_TIMEDOUT {
                throw HTTPTransportError.timedOut(host: host, seconds: timeoutThatFired(curl, request))
            }
            throw HTTPTransportError.transport(host: host, curlCode: Int(code.rawValue), message: text)
        }
        var status = 0
        _ = luminate_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
    }

    private func configureTLS(_ options: OptionSetter) throws {
        if insecureSkipTLSVerify {
            try options.long(CURLOPT_SSL_VERIFYPEER, 0, "tls verification")
            try options.long(CURLOPT_SSL_VERIFYHOST, 0, "tls host verification")
        } else {
            try options.long(CURLOPT_SSL_VERIFYPEER, 1, "tls verification")
            try options.long(CURLOPT_SSL_VERIFYHOST, 2, "tls host verification")
        }
        if let caFile { try options.string(CURLOPT_CAINFO, caFile, "ca file") }
    }

    /// Request headers as curl wants them, plus the defaults curl would otherwise add behind the
    /// caller's back.
    private func headerLines(_ request: HTTPRequest, host: String) throws -> [String] {
        var lines: [String] = []
        for (name, value) in request.headers {
            // A line break in a header would let a value smuggle in headers of its own.
            // (Checked on UTF-8 bytes: as Characters, "\r\n" is one grapheme equal to neither.)
            let breaksLine = (name + value).utf8.contains { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
            guard !breaksLine, !name.isEmpty else {
                throw HTTPTransportError.transport(
                    host: host, curlCode: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                    message: "header '\(name)' is empty or contains a line break")
            }
            // `Name:` would tell curl to drop the header; `Name;` is how an empty value is sent.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        // With a body curl adds `Expect: 100-continue` past 1 MB (a stall on servers that never
        // answer it) and `Content-Type: application/x-www-form-urlencoded`, which some servers
        // parse as form fields. Callers state a content type when they mean one.
        //
        // Not on signed requests: libcurl 7.88 signs every header of the list, these removal
        // markers included (`SignedHeaders=content-type;expect;host;...` for headers never sent),
        // and the server's signature then differs. S3 and its kin answer `100-continue`, and S3
        // callers always state the content type of a body.
        guard request.awsSigV4 == nil else { return lines }
        if request.header("Expect") == nil { lines.append("Expect:") }
        if request.header("Content-Type") == nil { lines.append("Content-Type:") }
        return lines
    }

    private func configureMethod(_ method: String, body: UnsafeRawBufferPointer?, _ options: OptionSetter) throws {
        if method == "HEAD" {
            try options.long(CURLOPT_NOBODY, 1, "method")
            return
        }
        if let body {
            try options.off(CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count), "body size")
            if let base = body.baseAddress, body.count > 0 {
                // Not copied: `withBody` keeps the bytes alive until curl_easy_perform returns.
                try options.pointer(CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: base), "body")
            } else {
                // A NULL POSTFIELDS would make curl read the body from stdin.
                try options.string(CURLOPT_COPYPOSTFIELDS, "", "body")
            }
        }
        if method != "POST" && (method != "GET" || body != nil) {
            try options.string(CURLOPT_CUSTOMREQUEST, method, "method")
        }
    }

    /// A body read from a file: an upload of a known size, read (and on a retry re-read) by the
    /// callbacks. `UPLOAD` means PUT; any other method is named explicitly.
    private func configureUpload(
        _ method: String, _ upload: FileRangeReader, userdata: UnsafeMutableRawPointer, _ options: OptionSetter
    ) throws {
        try options.long(CURLOPT_UPLOAD, 1, "upload")
        try options.off(CURLOPT_INFILESIZE_LARGE, curl_off_t(upload.length), "upload size")
        // Fewer, larger reads than the 64 KB default; still nothing like the file's size.
        try options.long(CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10, "upload buffer size")
        try options.check(luminate_curl_setopt_read_callback(options.curl) { buffer, size, count, userdata in
            guard let buffer, let userdata else { return Int(CURL_READFUNC_ABORT) }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            return transfer.readBody(into: buffer, capacity: size * count)
        }, "read callback")
        try options.pointer(CURLOPT_READDATA, userdata, "read data")
        try options.check(luminate_curl_setopt_seek_callback(options.curl) { userdata, offset, origin in
            guard let userdata, origin == SEEK_SET else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            return transfer.upload?.rewind(to: Int64(offset)) == true ? Int32(CURL_SEEKFUNC_OK) : Int32(CURL_SEEKFUNC_FAIL)
        }, "seek callback")
        try options.pointer(CURLOPT_SEEKDATA, userdata, "seek data")
        if method != "PUT" { try options.string(CURLOPT_CUSTOMREQUEST, method, "method") }
    }

    /// Runs `body` with the request's bytes; POST, PUT and PATCH always carry a body (empty if
    /// none was given) so that servers see `Content-Length: 0` rather than a missing length.
    private func withBody<T>(_ request: HTTPRequest, _ body: (UnsafeRawBufferPointer?) throws -> T) throws -> T {
        if let data = request.body { return try data.withUnsafeBytes { try body($0) } }
        if ["POST", "PUT", "PATCH"].contains(request.method.uppercased()) {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(nil)
    }

    /// A timeout while connecting reports the connect timeout, one after that the total, unless
    /// the transfer stalled before the total was up.
    private func timeoutThatFired(_ curl: UnsafeMutableRawPointer, _ request: HTTPRequest) -> Double {
        var connected: curl_off_t = 0
        _ = luminate_curl_getinfo_off(curl, CURLINFO_CONNECT_TIME_T, &connected)
        if connected == 0 { return min(request.connectTimeout, request.timeout) }
        var total: curl_off_t = 0
        _ = luminate_curl_getinfo_off(curl, CURLINFO_TOTAL_TIME_T, &total)
        if let stall = request.stallTimeout, Double(total) / 1_000_000 < request.timeout - 0.5 { return stall }
        return request.timeout
    }

    // MARK: - The handle pool

    private func checkOut(host: String) throws -> EasyHandle {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        guard let pointer = luminate_curl_easy_init() else {
            throw HTTPTransportError.transport(
                host: host, curlCode: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")
        }
        return EasyHandle(pointer: pointer)
    }

    private func checkIn(_ handle: EasyHandle) {
        // Reset drops every option (and our callbacks' userdata) but keeps live connections.
        luminate_curl_easy_reset(handle.pointer)
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < maxIdleHandles else { return false }
            idle.append(handle)
            return true
        }
        if !kept { luminate_curl_easy_cleanup(handle.pointer) }
    }

    /// `curl_global_init` is not safe to race with other curl calls; a static is initialised once,
    /// on first use, under Swift's own once-lock.
    /// libcurl itself is bound on first use too (see shim.h): nil when it loaded, else why not.
    private static let globalInit: Result<CURLcode, HTTPLibraryMissing> = {
        if let error = luminate_curl_load() {
            return .failure(HTTPLibraryMissing(reason: String(cString: error)))
        }
        return .success(luminate_curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32)))
    }()

    private static func describe(_ code: CURLcode) -> String {
        String(cString: luminate_curl_easy_strerror(code))
    }

    /// Whole milliseconds for curl; zero or less means "no limit" to curl, so it stays at least 1.
    private static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return 0 }
        return max(1, Int((seconds * 1000).rounded()))
    }
}

/// A curl easy handle in the pool. Only one transfer uses a handle at a time (it is checked out
/// under the pool's lock), which is what makes handing it between threads safe.
private struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// Sets options on one handle, turning a refused option into an error naming it (a libcurl older
/// than 7.85 refuses `CURLOPT_PROTOCOLS_STR`, for instance).
private struct OptionSetter {
    let curl: UnsafeMutableRawPointer
    let host: String

    func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw HTTPTransportError.transport(
                host: host, curlCode: Int(code.rawValue),
                message: "libcurl refused the \(what) option: \(String(cString: luminate_curl_easy_strerror(code)))")
        }
    }

    func long(_ option: CURLoption, _ value: Int, _ what: String) throws {
        try check(luminate_curl_setopt_long(curl, option, value), what)
    }

    func off(_ option: CURLoption, _ value: curl_off_t, _ what: String) throws {
        try check(luminate_curl_setopt_off(curl, option, value), what)
    }

    /// curl copies string options, so the temporary C string is enough.
    func string(_ option: CURLoption, _ value: String, _ what: String) throws {
        try check(luminate_curl_setopt_string(curl, option, value), what)
    }

    func pointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?, _ what: String) throws {
        try check(luminate_curl_setopt_pointer(curl, option, value), what)
    }

    func slist(_ option: CURLoption, _ value: UnsafeMutablePointer<curl_slist>?, _ what: String) throws {
        try check(luminate_curl_setopt_slist(curl, option, value), what)
    }

    func callback(_ option: CURLoption, _ what: String, _ value: luminate_curl_data_callback) throws {
        try check(luminate_curl_setopt_data_callback(curl, option, value), what)
    }
}

/// What the C callbacks of one transfer write into, reached through their userdata pointer. Only
/// the thread running `curl_easy_perform` touches it while the transfer runs.
private final class Transfer {
    let handle: UnsafeMutableRawPointer
    let limit: Int
    let interrupt: Interrupt
    let onChunk: ((Data) throws -> Void)?
    let upload: FileRangeReader?

    var body = Data()
    var headers: [String: String] = [:]
    var limitExceeded = false
    var interrupted = false
    var chunkError: (any Error)?
    /// Decided at the first body byte: a 2xx body goes to `onChunk`, anything else is buffered.
    private var streamsBody: Bool?
    private var expectedLength: Int?

    init(
        handle: UnsafeMutableRawPointer, limit: Int, interrupt: Interrupt, onChunk: ((Data) throws -> Void)?,
        upload: FileRangeReader?
    ) {
        self.handle = handle
        self.limit = limit
        self.interrupt = interrupt
        self.onChunk = onChunk
        self.upload = upload
    }

    /// Fills curl's upload buffer from the body file; an interrupt stops the upload here too,
    /// without waiting for the next progress call.
    func readBody(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if interrupt.isSet {
            interrupted = true
            return Int(CURL_READFUNC_ABORT)
        }
        guard let upload else { return 0 }
        return upload.read(into: UnsafeMutableRawPointer(buffer), capacity: capacity) ?? Int(CURL_READFUNC_ABORT)
    }

    /// Returns false to make curl abort the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if streamsBody == nil {
            var status = 0
            _ = luminate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            streamsBody = onChunk != nil && (200..<300).contains(status)
            if streamsBody == false, let expectedLength, expectedLength <= limit {
                body.reserveCapacity(expectedLength)
            }
        }
        if streamsBody == true, let onChunk {
            do {
                try onChunk(Data(bytes))
                return true
            } catch {
                chunkError = error
                return false
            }
        }
        guard body.count + bytes.count <= limit else {
            limitExceeded = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// One header line. Trimmed as bytes (HTTP's whitespace is ASCII): Foundation's
    /// `trimmingCharacters(in:)` goes through NSString and cost about 58,000 instructions a line,
    /// a fifth of `backup list`'s CPU over 1,000 S3 manifests.
    func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        func trimmed(_ range: Range<Int>) -> Range<Int> {
            var (start, end) = (range.lowerBound, range.upperBound)
            while start < end, isSpace(bytes[start]) { start += 1 }
            while end > start, isSpace(bytes[end - 1]) { end -= 1 }
            return start..<end
        }
        let line = trimmed(0..<bytes.count)
        // Each status line starts a new header block: `100 Continue` comes before the real one.
        if bytes[line].starts(with: "HTTP/".utf8) {
            headers = [:]
            return
        }
        guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: bytes[trimmed(line.lowerBound..<colon)], as: UTF8.self).lowercased()
        let value = String(decoding: bytes[trimmed(colon + 1..<line.upperBound)], as: UTF8.self)
        headers[name] = value
        if name == "content-length" { expectedLength = Int(value) }
    }

    func shouldAbort() -> Bool {
        if interrupt.isSet { interrupted = true }
        return interrupted
    }
}

/// libcurl.so.4 could not be opened when the first request was made.
struct HTTPLibraryMissing: Error {
    var reason: String
}
