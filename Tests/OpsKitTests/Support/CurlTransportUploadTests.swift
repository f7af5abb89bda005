import CCrypto
import Foundation
import XCTest
@testable import OpsKit

/// `CurlTransport`'s request bodies read from files and its AWS SigV4 signing, against
/// Tests/Fixtures/http_test_server.py: the bytes arrive intact without the file ever being in
/// memory, ranges send exactly their bytes, interrupts stop uploads in flight, and the signature
/// libcurl computes is the one SigV4 defines, with the secret nowhere on the wire.
final class CurlTransportUploadTests: XCTestCase {
    private var server: FixtureHTTPServer!
    private var transport: CurlTransport!
    private var directory = ""

    override func setUpWithError() throws {
        server = try FixtureHTTPServer()
        transport = CurlTransport()
        directory = NSTemporaryDirectory() + "curl-upload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        server = nil
        transport = nil
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Bodies from files

    func testAFileBodyArrivesIntactWithoutBeingLoadedIntoMemory() throws {
        let size = 48 << 20
        let (path, sha256) = try writeFile("big.bin", size: size)
        let before = residentBytes()
        let sampler = PeakSampler()
        sampler.start()
        let response = try transport.send(
            HTTPRequest(method: "PUT", url: server.url("/echo"), bodyFile: HTTPFileBody(path: path)), interrupt: Interrupt())
        let peak = sampler.stop()
        let echo = try Echo.decode(response)
        XCTAssertEqual(echo.method, "PUT")
        XCTAssertEqual(echo.bodyLength, size)
        XCTAssertEqual(echo.bodySha256, sha256)
        XCTAssertEqual(echo.header("Content-Length"), String(size))
        // Loading the file would add 48 MB; curl's upload buffer is 512 KB.
        XCTAssertLessThan(max(peak, residentBytes()) - before, 16 << 20, "resident memory grew by \((max(peak, residentBytes()) - before) >> 20) MB")
    }

    func testARangeSendsExactlyItsBytes() throws {
        let (path, _) = try writeFile("parts.bin", size: 300_000)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        for (offset, length) in [(0, 100_000), (100_000, 100_000), (250_000, 50_000), (299_999, 1), (12_345, 0)] {
            let echo = try Echo.decode(transport.send(
                HTTPRequest(method: "PUT", url: server.url("/echo"),
                            bodyFile: HTTPFileBody(path: path, offset: Int64(offset), length: Int64(length))),
                interrupt: Interrupt()))
            XCTAssertEqual(echo.bodyLength, length)
            XCTAssertEqual(echo.bodySha256, SHA256.hex(whole.subdata(in: offset..<(offset + length))), "\(offset)+\(length)")
        }
        let rest = try Echo.decode(transport.send(
            HTTPRequest(method: "PUT", url: server.url("/echo"), bodyFile: HTTPFileBody(path: path, offset: 200_000)),
            interrupt: Interrupt()))
        XCTAssertEqual(rest.bodySha256, SHA256.hex(whole.subdata(in: 200_000..<300_000)), "a nil length runs to the end")
    }

    func testOtherMethodsCanSendAFileBodyToo() throws {
        let (path, sha256) = try writeFile("post.bin", size: 70_000)
        let echo = try Echo.decode(transport.send(
            HTTPRequest(method: "POST", url: server.url("/echo"), headers: [("Content-Type", "application/octet-stream")],
                        bodyFile: HTTPFileBody(path: path)),
            interrupt: Interrupt()))
        XCTAssertEqual(echo.method, "POST")
        XCTAssertEqual(echo.bodySha256, sha256)
        XCTAssertNil(echo.header("Expect"))
    }

    func testFileProblemsAreReportedBeforeAnythingIsSent() throws {
        let (path, _) = try writeFile("small.bin", size: 1000)
        let cases: [(HTTPFileBody, String)] = [
            (HTTPFileBody(path: directory + "/missing.bin"), "cannot read \(directory)/missing.bin: No such file or directory"),
            (HTTPFileBody(path: path, offset: 900, length: 200),
             "cannot read \(path): 200 bytes from offset 900 run past the end of the file (1000 bytes)"),
            (HTTPFileBody(path: directory), "cannot read \(directory): not a regular file"),
        ]
        for (body, message) in cases {
            XCTAssertThrowsError(try transport.send(
                HTTPRequest(method: "PUT", url: server.url("/echo"), bodyFile: body), interrupt: Interrupt())) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertTrue(error is HTTPBodyFileError, "\(type(of: error))")
            }
        }
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(method: "PUT", url: server.url("/echo"), body: Data("x".utf8), bodyFile: HTTPFileBody(path: path)),
            interrupt: Interrupt())) { error in
            XCTAssertEqual("\(error)", "cannot reach 127.0.0.1:\(server.port): a request has a body or a body file, not both (curl error 43)")
        }
        XCTAssertEqual(try transport.send(HTTPRequest(url: server.url("/status/204")), interrupt: Interrupt()).status, 204)
    }

    func testAnInterruptStopsAnUploadInFlight() throws {
        let (path, _) = try writeFile("slow.bin", size: 32 << 20)
        let interrupt = Interrupt()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { interrupt.raise(SIGINT) }
        let started = Date()
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(method: "PUT", url: server.url("/drain?rate=1048576"), bodyFile: HTTPFileBody(path: path)),
            interrupt: interrupt)) { error in
            XCTAssertEqual(error as? HTTPTransportError, .interrupted(host: "127.0.0.1:\(server.port)"))
        }
        // At 1 MB/s the upload would take 32 s.
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
        XCTAssertEqual(try transport.send(HTTPRequest(url: server.url("/status/204")), interrupt: Interrupt()).status, 204)
    }

    func testAStalledTransferFailsAfterTheStallTimeout() throws {
        let started = Date()
        XCTAssertThrowsError(try transport.send(
            HTTPRequest(url: server.url("/hang?seconds=30"), timeout: .infinity, stallTimeout: 1), interrupt: Interrupt())) { error in
            XCTAssertEqual(error as? HTTPTransportError, .timedOut(host: "127.0.0.1:\(server.port)", seconds: 1))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    // MARK: - AWS SigV4

    func testSigV4SignsWithTheSecretAndSendsOnlyTheSignature() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let (path, sha256) = try writeFile("signed.bin", size: 2 << 20)
        let request = HTTPRequest(
            method: "PUT", url: server.url("/echo"),
            headers: [("Content-Type", "application/octet-stream"), ("x-amz-content-sha256", sha256)],
            bodyFile: HTTPFileBody(path: path),
            awsSigV4: AWSSigV4Credential(provider: "aws:amz:us-east-1:s3", accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret))
        let echo = try Echo.decode(transport.send(request, interrupt: Interrupt()))
        XCTAssertEqual(echo.bodySha256, sha256)

        let authorization = try XCTUnwrap(echo.header("Authorization"))
        let date = try XCTUnwrap(echo.header("X-Amz-Date"))
        let signedHeaders = "content-type;host;x-amz-content-sha256;x-amz-date"
        let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(date.prefix(8))/us-east-1/s3/aws4_request, SignedHeaders=\(signedHeaders), Signature="
        XCTAssertTrue(authorization.hasPrefix(prefix), authorization)
        // Recomputed here from the SigV4 specification, independently of libcurl.
        let canonical = [
            "PUT", "/echo", "",
            "content-type:application/octet-stream", "host:127.0.0.1:\(server.port)", "x-amz-content-sha256:\(sha256)",
            "x-amz-date:\(date)", "",
            signedHeaders, sha256,
        ].joined(separator: "\n")
        let expected = Self.sigV4Signature(
            secret: secret, date: date, region: "us-east-1", service: "s3", canonicalRequest: canonical)
        XCTAssertEqual(String(authorization.dropFirst(prefix.count)), expected)
        for header in echo.headers {
            XCTAssertFalse(header.joined(separator: ": ").contains(secret), "the secret went on the wire: \(header)")
        }
        // Curl signs every header in its list, removal markers included: none may be there.
        XCTAssertFalse(authorization.contains("expect"), authorization)
    }

    func testASignedRequestWithoutBodyCarriesOnlyTheHeadersItSigns() throws {
        let request = HTTPRequest(
            url: server.url("/echo?list-type=2&prefix=a%2Fb"),
            headers: [("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")],
            awsSigV4: AWSSigV4Credential(provider: "aws:amz:eu-west-1:s3", accessKeyID: "AKIDEXAMPLE", secretAccessKey: "s3cr3t-value"))
        let echo = try Echo.decode(transport.send(request, interrupt: Interrupt()))
        let authorization = try XCTUnwrap(echo.header("Authorization"))
        XCTAssertTrue(authorization.contains("/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "), authorization)
        XCTAssertEqual(echo.query, "list-type=2&prefix=a%2Fb", "the query goes out as given: it is what was signed")
    }

    // MARK: - Helpers

    /// A file of `size` pseudo-random bytes written a megabyte at a time, and its SHA-256.
    private func writeFile(_ name: String, size: Int) throws -> (path: String, sha256: String) {
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        let hasher = SHA256Stream()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var written = 0
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while written < size {
            let count = min(block.count, size - written)
            for index in stride(from: 0, to: count, by: 8) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                withUnsafeBytes(of: state.bigEndian) { bytes in
                    for offset in 0..<min(8, count - index) { block[index + offset] = bytes[offset] }
                }
            }
            let chunk = Data(block[0..<count])
            handle.write(chunk)
            hasher.update(chunk)
            written += count
        }
        return (path, hasher.finish())
    }

    /// SigV4's signature of `canonicalRequest`: the string to sign, and the HMAC chain of the
    /// date, region, service and `aws4_request` keyed from `AWS4` + secret.
    static func sigV4Signature(secret: String, date: String, region: String, service: String, canonicalRequest: String) -> String {
        let scope = "\(date.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", date, scope, SHA256.hex(canonicalRequest)].joined(separator: "\n")
        var key = Array(("AWS4" + secret).utf8)
        for part in [String(date.prefix(8)), region, service, "aws4_request", stringToSign] {
            key = hmacSHA256(key: key, Array(part.utf8))
        }
        return key.map { String(format: "%02x", $0) }.joined()
    }

    private static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &out, &length)
        return out
    }
}

/// Resident memory of this process now (from /proc/self/statm).
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Samples resident memory every few milliseconds on its own thread, keeping the peak.
private final class PeakSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    func start() {
        Thread.detachNewThread {
            while self.lock.withLock({ self.running }) {
                let now = residentBytes()
                self.lock.withLock { self.peak = max(self.peak, now) }
                usleep(2000)
            }
            self.done.signal()
        }
    }

    func stop() -> Int {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { peak }
    }
}
