import Foundation
import Synchronization
import XCTest
@testable import OpsKit

/// `CurlTransport` against a real HTTP/1.1 server (Tests/Fixtures/http_test_server.py) started for
/// each test: what goes on the wire, connection reuse, and every way a transfer can fail.
final class CurlTransportTests: XCTestCase {
    private var server: FixtureHTTPServer!
    private var transport: CurlTransport!

    override func setUpWithError() throws {
        server = try FixtureHTTPServer()
        transport = CurlTransport()
    }

    override func tearDown() {
        server?.stop()
        server = nil
        transport = nil
    }

    // MARK: - Requests and responses

    func testGetSendsHeadersAndQuery() throws {
        let response = try transport.send(
            HTTPRequest(url: server.url("/echo?query=SELECT%201&database=luminate"),
                        headers: [("X-ClickHouse-User", "ops"), ("X-Empty", "")]),
            interrupt: Interrupt())
        XCTAssertEqual(response.status, 200)
        let echo = try Echo.decode(response)
        XCTAssertEqual(echo.method, "GET")
        XCTAssertEqual(echo.query, "query=SELECT%201&database=luminate")
        XCTAssertEqual(echo.header("X-ClickHouse-User"), "ops")
        XCTAssertEqual(echo.header("X-Empty"), "")
        XCTAssertEqual(echo.header("User-Agent"), "luminatectl")
        XCTAssertEqual(echo.bodyLength, 0)
        XCTAssertNil(echo.header("Content-Length"))
    }

    func testBodyMethodsSendTheirBodiesAndNoImplicitHeaders() throws {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let body = "{\"method\":\"\(method)\"}"
            let response = try transport.send(
                HTTPRequest(method: method, url: server.url("/echo"),
                            headers: [("Content-Type", "application/json"), ("X-Trace", method)],
                            body: Data(body.utf8)),
                interrupt: Interrupt())
            let echo = try Echo.decode(response)
            XCTAssertEqual(echo.method, method)
            XCTAssertEqual(echo.body, body, method)
            XCTAssertEqual(echo.header("Content-Length"), String(body.utf8.count), method)
            XCTAssertEqual(echo.header("Content-Type"), "application/json", method)
            XCTAssertEqual(echo.header("X-Trace"), method)
            XCTAssertNil(echo.header("Expect"), method)
        }
    }

    func testBodylessRequestsOfEachMethod() throws {
        let post = try Echo.decode(transport.send(HTTPRequest(method: "POST", url: server.url("/echo")), interrupt: Interrupt()))
        XCTAssertEqual(post.method, "POST")
        XCTAssertEqual(post.header("Content-Length"), "0")
        // curl's default form content type would make some servers parse the body as fields.
        XCTAssertNil(post.header("Content-Type"))

        let put = try Echo.decode(transport.send(HTTPRequest(method: "PUT", url: server.url("/echo")), interrupt: Interrupt()))
        XCTAssertEqual(put.method, "PUT")
        XCTAssertEqual(put.header("Content-Length"), "0")

        let delete = try Echo.decode(transport.send(HTTPRequest(method: "DELETE", url: server.url("/echo")), interrupt: Interrupt()))
        XCTAssertEqual(delete.method, "DELETE")
        XCTAssertEqual(delete.bodyLength, 0)

        let head = try transport.send(HTTPRequest(method: "HEAD", url: server.url("/bytes?count=5000")), interrupt: Interrupt())
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], "5000")
        XCTAssertTrue(head.body.isEmpty)
    }

    func testNonSuccessStatusesAreResponsesNotErrors() throws {
        for status in [400, 401, 404, 500, 503] {
            let response = try transport.send(HTTPRequest(url: server.url("/status/\(status)")), interrupt: Interrupt())
            XCTAssertEqual(response.status, status)
            XCTAssertEqual(response.text, "status \(status)")
        }
    }

    func testRedirectsAreNotFollowed() throws {
        let response = try transport.send(
            HTTPRequest(url: server.url("/redirect"), headers: [("Authorization", "Bearer s3cr3t-token")]),
            interrupt: Interrupt())
        XCTAssertEqual(response.status, 302)
        XCTAssertEqual(response.headers["location"], "/echo")
        XCTAssertEqual(response.text, "moved")
    }

    func testResponseHeadersAreLowercasedAndTheLastValueWins() throws {
        let response = try transport.send(HTTPRequest(url: server.url("/headers")), interrupt: Interrupt())
        XCTAssertEqual(response.headers["x-one"], "1")
        XCTAssertEqual(response.headers["x-repeat"], "b")
        XCTAssertEqual(response.headers["content-type"], "text/plain")
    }

    func testHeaderWithLineBreakIsRefusedBeforeSending() throws {
        let request = HTTPRequest(url: server.url("/echo"), headers: [("X-Evil", "a\r\nX-Injected: 1")])
        XCTAssertThrowsError(try transport.send(request, interrupt: Interrupt())) { error in
            guard case .transport(let host, _, let message)? = error as? HTTPTransportError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(host, "127.0.0.1:\(server.port)")
            XCTAssertEqual(message, "header 'X-Evil' is empty or contains a line break")
        }
    }

    // MARK: - Connection reuse and concurrency

    func testSequentialRequestsShareOneConnection() throws {
        let first = try Echo.decode(transport.send(HTTPRequest(url: server.url("/echo")), interrupt: Interrupt()))
        let second = try Echo.decode(transport.send(
            HTTPRequest(method: "POST", url: server.url("/echo"), body: Data("x".utf8)), interrupt: Interrupt()))
        _ = try transport.send(HTTPRequest(url: server.url("/status/500")), interrupt: Interrupt())
        let third = try Echo.decode(transport.send(HTTPRequest(url: server.url("/echo")), interrupt: Interrupt()))
        XCTAssertEqual(first.connection, second.connection)
        XCTAssertEqual(first.clientPort, second.clientPort)
        XCTAssertEqual(first.connection, third.connection, "a 500 must not cost the connection")
        XCTAssertEqual(transport.idleHandleCount, 1)
    }

    func testSeparateTransportsUseSeparateConnections() throws {
        let first = try Echo.decode(transport.send(HTTPRequest(url: server.url("/echo")), interrupt: Interrupt()))
        let other = CurlTransport()
        let second = try Echo.decode(other.send(HTTPRequest(url: server.url("/echo")), interrupt: Interrupt()))
        XCTAssertNotEqual(first.connection, second.connection)
    }

    func testConcurrentRequestsFromFourThreads() throws {
        let failures = Mutex<[String]>([])
        let connections = Mutex<Set<Int>>([])
        let transport = self.transport!
        let url = server.url("/echo")
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for index in 0..<25 {
                let body = "thread \(thread) request \(index) " + String(repeating: "\(thread)", count: 1000 * index)
                do {
                    let echo = try Echo.decode(transport.send(
                        HTTPRequest(method: "POST", url: url, headers: [("X-Thread", "\(thread)")], body: Data(body.utf8)),
                        interrupt: Interrupt()))
                    if echo.body != body || echo.header("X-Thread") != "\(thread)" {
                        failures.withLock { $0.append("thread \(thread) request \(index): got another request's echo") }
                    }
                    connections.withLock { _ = $0.insert(echo.connection) }
                } catch {
                    failures.withLock { $0.append("thread \(thread) request \(index): \(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        // Handles are reused: 100 requests over at most one connection per thread.
        XCTAssertLessThanOrEqual(connections.withLock { $0.count }, 4)
        XCTAssertLessThanOrEqual(transport.idleHandleCount, 4)
    }

    // MARK: - Failures

    func testRefusedConnectionNamesTheHost() throws {
        // Port 1 (tcpmux) has nothing listening on these machines.
        let request = HTTPRequest(url: "http://127.0.0.1:1/ping", connectTimeout: 2)
        XCTAssertThrowsError(try transport.send(request, interrupt: Interrupt())) { error in
            guard case .transport(let host, let code, let message)? = error as? HTTPTransportError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(host, "127.0.0.1:1")
            XCTAssertEqual(code, 7)  // CURLE_COULDNT_CONNECT
            XCTAssertTrue(message.hasPrefix("Failed to connect to 127.0.0.1 port 1 after"), message)
            XCTAssertTrue(message.hasSuffix("Couldn't connect to server"), message)
            XCTAssertTrue("\(error)".hasPrefix("cannot reach 127.0.0.1:1: Failed to connect"), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("(curl error 7)"), "\(error)")
        }
    }

    func testServerThatNeverAnswersTimesOut() throws {
        let started = Date()
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(url: server.url("/hang?seconds=30"), timeout: 1), interrupt: Interrupt())) { error in
            XCTAssertEqual(error as? HTTPTransportError, .timedOut(host: "127.0.0.1:\(server.port)", seconds: 1))
            XCTAssertEqual("\(error)", "127.0.0.1:\(server.port) did not answer within 1 s")
        }
        let elapsed = Date().timeIntervalSince(started)
        // Bounds are loose for loaded CI machines; the server would hold the request for 30 s.
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 5)
        // The pool survives a timed-out transfer: the next request works on a fresh connection.
        XCTAssertEqual(try transport.send(HTTPRequest(url: server.url("/status/204")), interrupt: Interrupt()).status, 204)
    }

    func testTwentyMegabytesEachWay() throws {
        let size = 20 << 20
        let download = try transport.send(HTTPRequest(url: server.url("/bytes?count=\(size)")), interrupt: Interrupt())
        XCTAssertEqual(download.status, 200)
        XCTAssertEqual(download.body.count, size)
        XCTAssertTrue(download.body == Self.pattern(size), "corrupted body")

        var upload = Self.pattern(size)
        upload[size / 2] = 0xFF  // not the pattern the server sends, so an echo of it cannot pass
        let echo = try Echo.decode(transport.send(
            HTTPRequest(method: "POST", url: server.url("/echo"), body: upload), interrupt: Interrupt()))
        XCTAssertEqual(echo.bodyLength, size)
        XCTAssertEqual(echo.bodyAdler32, adler32(upload))
    }

    /// 0, 1, ..., 255, 0, 1, ...: what `/bytes` sends.
    private static func pattern(_ count: Int) -> Data {
        let block = Data((0..<(1 << 16)).map { UInt8(truncatingIfNeeded: $0) })
        var data = Data(capacity: count)
        while data.count < count { data.append(block.prefix(count - data.count)) }
        return data
    }

    func testResponseLargerThanTheLimitIsAnError() throws {
        let limit = 1 << 20
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(url: server.url("/bytes?count=\(2 << 20)"), responseLimit: limit), interrupt: Interrupt())) { error in
            XCTAssertEqual(error as? HTTPTransportError, .responseTooLarge(host: "127.0.0.1:\(server.port)", limit: limit))
        }
        let exact = try transport.send(
            HTTPRequest(url: server.url("/bytes?count=\(limit)"), responseLimit: limit), interrupt: Interrupt())
        XCTAssertEqual(exact.body.count, limit)
    }

    func testInterruptFromAnotherThreadStopsATransferInFlight() throws {
        let interrupt = Interrupt()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { interrupt.raise(SIGINT) }
        let started = Date()
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(url: server.url("/drip?chunks=200&size=1024&interval=0.05")), interrupt: interrupt)) { error in
            XCTAssertEqual(error as? HTTPTransportError, .interrupted(host: "127.0.0.1:\(server.port)"))
        }
        // The whole body would take 10 s.
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
    }

    func testInterruptWhileTheServerIsSilent() throws {
        let interrupt = Interrupt()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { interrupt.raise(SIGTERM) }
        let started = Date()
        XCTAssertThrowsError(try transport.send(HTTPRequest(url: server.url("/hang?seconds=30")), interrupt: interrupt)) { error in
            XCTAssertEqual(error as? HTTPTransportError, .interrupted(host: "127.0.0.1:\(server.port)"))
        }
        // libcurl calls the progress callback at least about once a second while nothing moves;
        // the server would stay silent for 30 s.
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testRaisedInterruptSendsNothing() throws {
        let interrupt = Interrupt()
        interrupt.raise(SIGINT)
        XCTAssertThrowsError(try transport.send(HTTPRequest(url: "http://127.0.0.1:1/"), interrupt: interrupt)) { error in
            XCTAssertEqual(error as? HTTPTransportError, .interrupted(host: "127.0.0.1:1"))
        }
    }

    // MARK: - Streaming

    func testStreamingHandsTheBodyOverInPieces() throws {
        let size = 5 << 20
        var received = 0
        var pieces = 0
        var intact = true
        let response = try transport.stream(
            HTTPRequest(url: server.url("/bytes?count=\(size)"), responseLimit: 1024), interrupt: Interrupt()
        ) { chunk in
            for (offset, byte) in chunk.enumerated() where byte != UInt8((received + offset) & 0xFF) { intact = false }
            received += chunk.count
            pieces += 1
        }
        XCTAssertEqual(response.status, 200)
        XCTAssertTrue(response.body.isEmpty)
        XCTAssertEqual(received, size, "the response limit does not apply to what is streamed")
        XCTAssertGreaterThan(pieces, 1)
        XCTAssertTrue(intact)
    }

    func testStreamingBuffersAnErrorBodyInstead() throws {
        let response = try transport.stream(HTTPRequest(url: server.url("/status/500")), interrupt: Interrupt()) { _ in
            XCTFail("an error body must not be streamed")
        }
        XCTAssertEqual(response.status, 500)
        XCTAssertEqual(response.text, "status 500")
    }

    func testAnErrorThrownByTheConsumerAbortsTheStream() throws {
        /// What a consumer of a stream might fail with.
        struct DiskFull: Error, Equatable {}
        XCTAssertThrowsError(try transport.stream(
            HTTPRequest(url: server.url("/bytes?count=\(4 << 20)")), interrupt: Interrupt()) { _ in throw DiskFull() }
        ) { error in
            XCTAssertEqual(error as? DiskFull, DiskFull())
        }
    }

    func testStreamingFallsBackToOneChunkOnOtherTransports() throws {
        let fake = RecordingTransport(response: HTTPResponse(status: 200, body: Data("abc".utf8)))
        var chunks: [Data] = []
        let response = try fake.streaming(HTTPRequest(url: "http://h/"), interrupt: Interrupt()) { chunks.append($0) }
        XCTAssertEqual(chunks, [Data("abc".utf8)])
        XCTAssertEqual(response, HTTPResponse(status: 200))
    }

    // MARK: - TLS

    func testTLSIsVerifiedByDefaultAndTrustsAGivenCAFile() throws {
        let certificates = try SelfSignedCertificate()
        defer { certificates.remove() }
        let tlsServer = try FixtureHTTPServer(arguments: ["--tls-cert", certificates.certPath, "--tls-key", certificates.keyPath])
        defer { tlsServer.stop() }
        let url = "https://127.0.0.1:\(tlsServer.port)/status/200"

        XCTAssertThrowsError(try CurlTransport().send(HTTPRequest(url: url), interrupt: Interrupt())) { error in
            guard case .transport(let host, let code, _)? = error as? HTTPTransportError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(host, "127.0.0.1:\(tlsServer.port)")
            XCTAssertEqual(code, 60)  // CURLE_PEER_FAILED_VERIFICATION
        }
        let trusted = try CurlTransport(caFile: certificates.certPath).send(HTTPRequest(url: url), interrupt: Interrupt())
        XCTAssertEqual(trusted.status, 200)
        let insecure = try CurlTransport(insecureSkipTLSVerify: true).send(HTTPRequest(url: url), interrupt: Interrupt())
        XCTAssertEqual(insecure.status, 200)
    }

    func testOnlyHTTPSchemesAreAllowed() throws {
        XCTAssertThrowsError(try transport.send(HTTPRequest(url: "file:///etc/passwd"), interrupt: Interrupt())) { error in
            guard case .transport(_, let code, _)? = error as? HTTPTransportError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(code, 1)  // CURLE_UNSUPPORTED_PROTOCOL
        }
    }
}

// MARK: - Fixtures

/// What `/echo` reports about the request it received.
struct Echo: Decodable {
    var method: String
    var path: String
    var query: String
    var headers: [[String]]
    var body: String?
    var bodyLength: Int
    var bodyAdler32: UInt32
    var bodySha256: String
    var connection: Int
    var clientPort: Int

    static func decode(_ response: HTTPResponse) throws -> Echo {
        guard response.status == 200 else { throw FixtureError("echo answered \(response.status): \(response.text)") }
        return try JSONDecoder().decode(Echo.self, from: response.body)
    }

    func header(_ name: String) -> String? {
        headers.first { $0.first?.caseInsensitiveCompare(name) == .orderedSame }?.last
    }
}

/// A transport that is not a `StreamingHTTPTransport`, for the fallback of `streaming`.
private struct RecordingTransport: HTTPTransport {
    let response: HTTPResponse
    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse { response }
}

/// A fixture that could not be set up, with what went wrong.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Tests/Fixtures/http_test_server.py, running on a port of its choosing.
final class FixtureHTTPServer {
    let port: Int
    private let process = Process()

    init(arguments: [String] = []) throws {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/http_test_server.py").path
        let stdout = Pipe()
        // The system Python without site hooks (-S) starts in ~70 ms; a pyenv shim on PATH costs
        // several times that, per test.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-S", script] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-S", script] + arguments
        }
        process.standardOutput = stdout
        try process.run()
        // The server prints its port once it is listening; EOF first means it died.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = stdout.fileHandleForReading.availableData
            if more.isEmpty {
                process.waitUntilExit()
                throw FixtureError("http_test_server.py exited (\(process.terminationStatus)) before printing its port")
            }
            line.append(more)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw FixtureError("http_test_server.py printed no port: \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// A throwaway certificate for 127.0.0.1, made with the openssl CLI.
private struct SelfSignedCertificate {
    let directory: String
    var certPath: String { directory + "/cert.pem" }
    var keyPath: String { directory + "/key.pem" }

    init() throws {
        directory = NSTemporaryDirectory() + "curl-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw FixtureError("openssl req failed") }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// zlib's Adler-32, to compare a 20 MB upload with what the server received. The sums are reduced
/// every 5552 bytes (zlib's NMAX) so a debug build gets through 20 MB quickly.
private func adler32(_ data: Data) -> UInt32 {
    var a: UInt64 = 1, b: UInt64 = 0
    data.withUnsafeBytes { bytes in
        var index = 0
        while index < bytes.count {
            let end = min(index + 5552, bytes.count)
            while index < end {
                a += UInt64(bytes[index])
                b += a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
    }
    return UInt32(b << 16 | a)
}
