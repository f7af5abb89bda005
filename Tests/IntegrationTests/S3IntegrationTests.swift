import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `S3Client` over `CurlTransport` against the sandbox's S3 (moto): round trips, pagination,
/// streamed and multipart uploads checked by SHA-256, clean aborts, the typed errors, and a
/// secret that never reaches a `--verbose` line. Each test works under its own key prefix and
/// removes what it wrote.
///
/// Reads LUMINATECTL_S3_ENDPOINT, LUMINATECTL_S3_REGION, LUMINATECTL_S3_BUCKET,
/// LUMINATECTL_S3_ACCESS_KEY_ID and LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE (a file holding only the
/// secret). The buckets luminate-backups-local and luminate-backups-local-dr must exist.
final class S3IntegrationTests: XCTestCase {
    static let variables = [
        "LUMINATECTL_S3_ENDPOINT", "LUMINATECTL_S3_REGION", "LUMINATECTL_S3_BUCKET",
        "LUMINATECTL_S3_ACCESS_KEY_ID", "LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE",
    ]

    private var endpoint: S3Endpoint!
    private var secret = ""
    private var directory = ""
    /// Every key of the test lives under this prefix (inside the bucket, below any configured one).
    private var prefix = ""

    override func setUpWithError() throws {
        let environment = try Sandbox.require(Self.variables)
        let secretFile = environment["LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE"]!
        secret = try Sandbox.password(fromFile: secretFile)
        prefix = "it-\(UUID().uuidString.prefix(8).lowercased())/"
        endpoint = S3Endpoint(
            url: environment["LUMINATECTL_S3_ENDPOINT"]!, region: environment["LUMINATECTL_S3_REGION"]!,
            bucket: environment["LUMINATECTL_S3_BUCKET"]!, prefix: prefix,
            accessKeyID: environment["LUMINATECTL_S3_ACCESS_KEY_ID"]!, secretAccessKey: secret,
            secretSource: "from file \(secretFile)")
        try endpoint.validate()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("luminatectl-s3-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let endpoint {
            let client = S3Client(endpoint: endpoint, http: CurlTransport())
            for upload in (try? client.listMultipartUploads()) ?? [] {
                try? client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
            }
            if let listing = try? client.list() { try? client.delete(listing.objects.map(\.key)) }
        }
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func client(
        _ transport: any HTTPTransport = CurlTransport(), interrupt: Interrupt = Interrupt(),
        multipart: S3MultipartPolicy = S3MultipartPolicy()
    ) -> S3Client {
        S3Client(endpoint: endpoint, http: transport, interrupt: interrupt, multipart: multipart)
    }

    // MARK: - Objects

    func testPutHeadGetDeleteRoundTrip() throws {
        let client = client()
        try client.checkBucket()
        let body = Data("{\"backup\": \"2026-12-02T03:00:00Z\", \"parts\": 42}\n".utf8)
        let put = try client.put("manifests/2026-12-02.json", data: body, contentType: "application/json")
        XCTAssertEqual(put.sha256, SHA256.hex(body))
        XCTAssertEqual(put.size, Int64(body.count))
        XCTAssertEqual(put.etag.count, 32, "a single PUT's ETag is the MD5 of the bytes: \(put.etag)")

        let info = try XCTUnwrap(try client.head("manifests/2026-12-02.json"))
        XCTAssertEqual(info.size, Int64(body.count))
        XCTAssertEqual(info.etag, put.etag)
        XCTAssertEqual(info.contentType, "application/json")
        XCTAssertNotNil(info.lastModified)

        XCTAssertEqual(try client.get("manifests/2026-12-02.json"), body)
        var streamed = Data()
        let download = try client.get("manifests/2026-12-02.json") { streamed.append($0) }
        XCTAssertEqual(streamed, body)
        XCTAssertEqual(download.sha256, put.sha256)

        try client.delete("manifests/2026-12-02.json")
        XCTAssertNil(try client.head("manifests/2026-12-02.json"))
        XCTAssertThrowsError(try client.get("manifests/2026-12-02.json")) { error in
            XCTAssertEqual((error as? S3Error)?.code, "NoSuchKey", "\(error)")
        }
    }

    func testKeysThatNeedEncodingRoundTrip() throws {
        let client = client()
        let keys = ["with space/and+plus.bin", "ünïcödé/ключ.bin", "odd=chars&?#%[]@!$'()*,;.bin"]
        for key in keys { _ = try client.put(key, data: Data(key.utf8)) }
        XCTAssertEqual(Set(try client.list().objects.map(\.key)), Set(keys))
        for key in keys { XCTAssertEqual(try client.get(key), Data(key.utf8), key) }
    }

    func testListingFollowsContinuationTokensAndRollsUpFolders() throws {
        let client = client()
        let keys = (1...7).map { String(format: "parts/part-%03d.bin", $0) } + ["manifest.json", "logs/a.log", "logs/b.log"]
        for key in keys { _ = try client.put(key, data: Data(key.utf8)) }

        let all = try client.list(pageSize: 3)
        XCTAssertEqual(all.pages, 4, "10 keys at 3 a page")
        XCTAssertEqual(all.objects.map(\.key), keys.sorted())
        XCTAssertEqual(all.objects.first { $0.key == "manifest.json" }?.size, Int64("manifest.json".utf8.count))

        let parts = try client.list(prefix: "parts/", pageSize: 2)
        XCTAssertEqual(parts.objects.count, 7)
        XCTAssertEqual(parts.pages, 4)

        let top = try client.list(delimiter: "/", pageSize: 1)
        XCTAssertEqual(top.objects.map(\.key), ["manifest.json"])
        XCTAssertEqual(top.commonPrefixes.sorted(), ["logs/", "parts/"])
    }

    // MARK: - Files

    func testStreamedFileUploadAndDownloadKeepTheSHA256() throws {
        let path = try randomFile("backup.bin", size: 9 << 20 + 12345)
        let client = client()
        let upload = try client.upload("data/backup.bin", fromFile: path)
        XCTAssertEqual(upload.parts, 1, "below the threshold: one PUT")
        XCTAssertEqual(upload.sha256, try fileSHA256(path))
        XCTAssertEqual(upload.size, Int64(9 << 20 + 12345))

        let target = directory + "/restored.bin"
        let download = try client.download("data/backup.bin", toFile: target)
        XCTAssertEqual(download.sha256, upload.sha256)
        XCTAssertEqual(try fileSHA256(target), upload.sha256)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + ".partial"))
    }

    func testMultipartUploadOfTwelveMebibytesInFiveMebibyteParts() throws {
        let size = 12 << 20
        let path = try randomFile("large.bin", size: size)
        let client = client(multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20))
        let upload = try client.upload("data/large.bin", fromFile: path)
        XCTAssertEqual(upload.parts, 3)
        XCTAssertEqual(upload.sha256, try fileSHA256(path))
        XCTAssertTrue(upload.etag.hasSuffix("-3"), "a multipart ETag ends in the part count: \(upload.etag)")
        XCTAssertEqual(try client.head("data/large.bin")?.size, Int64(size))
        let download = try client.download("data/large.bin", toFile: directory + "/large.restored")
        XCTAssertEqual(download.sha256, upload.sha256)
        XCTAssertEqual(try client.listMultipartUploads(), [])
    }

    func testAnInterruptedMultipartUploadIsAbortedAndLeavesNothing() throws {
        let path = try randomFile("interrupted.bin", size: 11 << 20)
        let interrupt = Interrupt()
        // Ctrl-C arrives as the second part is about to go.
        let transport = InterceptingTransport { request in
            if request.url.contains("partNumber=2") { interrupt.raise(SIGINT) }
            return nil
        }
        let client = client(transport, interrupt: interrupt, multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20))
        XCTAssertThrowsError(try client.upload("data/interrupted.bin", fromFile: path)) { error in
            guard case .interrupted(let target, _, let detail)? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(target.operation, .uploadPart)
            XCTAssertTrue(detail?.hasPrefix("multipart upload ") == true && detail?.hasSuffix(" was aborted") == true, "\(error)")
            XCTAssertEqual((error as? S3Error)?.exitCode, .interrupted)
        }
        XCTAssertEqual(try self.client().listMultipartUploads(), [], "the abort must leave no upload behind")
        XCTAssertNil(try self.client().head("data/interrupted.bin"))
    }

    func testAMultipartUploadThatFailsIsAbortedAndTheFailureReported() throws {
        let path = try randomFile("failing.bin", size: 11 << 20)
        // The store fails the third part.
        let transport = InterceptingTransport { request in
            guard request.url.contains("partNumber=3") else { return nil }
            return HTTPResponse(status: 503, headers: ["x-amz-request-id": "RID-503"], body: Data(
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".utf8))
        }
        let client = client(transport, multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20))
        XCTAssertThrowsError(try client.upload("data/failing.bin", fromFile: path)) { error in
            guard case .server(let target, _, 503, "SlowDown", _, "RID-503")? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(target.operation, .uploadPart)
        }
        XCTAssertEqual(try self.client().listMultipartUploads(), [])
    }

    // MARK: - Errors

    func testNoSuchBucket() throws {
        var endpoint = self.endpoint!
        endpoint.bucket = "luminate-no-such-bucket-\(UUID().uuidString.prefix(6).lowercased())"
        let client = S3Client(endpoint: endpoint, http: CurlTransport())
        for attempt in [{ try client.checkBucket() }, { _ = try client.put("x.json", data: Data("{}".utf8)) }, { _ = try client.list() }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case .noSuchBucket(let bucket, let host, _, _)? = error as? S3Error else { return XCTFail("\(error)") }
                XCTAssertEqual(bucket, endpoint.bucket)
                XCTAssertEqual(host, endpoint.host)
                XCTAssertTrue((error as? S3Error)?.hint?.contains("is the bucket name right?") == true)
            }
        }
    }

    func testNoSuchKeyLeavesNoFileBehind() throws {
        let client = client()
        XCTAssertNil(try client.head("missing.json"))
        let target = directory + "/missing.json"
        XCTAssertThrowsError(try client.download("missing.json", toFile: target)) { error in
            guard case .noSuchKey(_, let key, _, _)? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, prefix + "missing.json")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + ".partial"))
    }

    func testBothSandboxBucketsAnswer() throws {
        for bucket in ["luminate-backups-local", "luminate-backups-local-dr"] {
            var endpoint = self.endpoint!
            endpoint.bucket = bucket
            XCTAssertNoThrow(try S3Client(endpoint: endpoint, http: CurlTransport()).checkBucket(), bucket)
        }
    }

    func testTheSecretIsInNoVerboseLineAndNoError() throws {
        let lines = Mutex<[String]>([])
        let logging = LoggingHTTPTransport(CurlTransport(), clock: SystemClock()) { line in
            lines.withLock { $0.append(line) }
        }
        let client = client(logging, multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20))
        var errors: [String] = []
        _ = try client.put("a.json", data: Data("{}".utf8))
        _ = try client.get("a.json")
        _ = try client.list(pageSize: 1)
        _ = try client.upload("big.bin", fromFile: randomFile("big.bin", size: 6 << 20))
        do { _ = try client.get("absent.json") } catch { errors.append("\(error)") }
        var wrong = endpoint!
        wrong.secretAccessKey = secret + "-but-wrong"
        do { _ = try S3Client(endpoint: wrong, http: logging).get("absent.json") } catch { errors.append("\(error)") }

        let logged = lines.withLock { $0 }
        XCTAssertTrue(logged.contains { $0.hasPrefix("> (aws-sigv4 aws:amz:\(endpoint.region):s3 as \(endpoint.accessKeyID))") })
        XCTAssertTrue(logged.contains { $0.hasPrefix("> (body from file ") }, "\(logged)")
        XCTAssertGreaterThan(logged.count, 20)
        for text in logged + errors {
            XCTAssertFalse(text.contains(secret), "the secret leaked: \(text)")
        }
    }

    // MARK: - Signatures, checked

    /// moto accepts any signature unless told to check them (its INITIAL_NO_AUTH_ACTION_COUNT,
    /// settable at run time through `POST /moto-api/reset-auth`); then it recomputes every
    /// signature with botocore's S3 signer and asks its IAM for the key and its policies. So this
    /// test makes two IAM users, one allowed s3:* and one allowed nothing, turns checking on for
    /// the test's duration, and proves that what libcurl signs (paths with encoded keys, the
    /// canonical queries of pagination and multipart uploads, the payload hashes) is exactly what
    /// S3's signer expects, and that each authentication failure comes back as its typed error.
    ///
    /// The switch is moto's, process-wide: the sandbox's modern ClickHouse node keeps its backups
    /// disk in the same moto, so checking must be on only while this test runs (XCTest runs tests
    /// one at a time, scripts/test passes no --parallel) and is switched off in a defer.
    func testSignaturesHoldWhenTheStoreChecksThemAndFailuresAreTyped() throws {
        let iam = MotoIAM(endpoint: endpoint.url)
        let user = "luminate-it-\(UUID().uuidString.prefix(8).lowercased())"
        let allowed = try iam.createUser(user, policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        let powerless = try iam.createUser(user + "-none", policy: nil)
        try iam.checkSignatures(true)
        defer { XCTAssertNoThrow(try iam.checkSignatures(false)) }

        var good = endpoint!
        good.accessKeyID = allowed.id
        good.secretAccessKey = allowed.secret
        let client = S3Client(endpoint: good, http: CurlTransport(), multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20))
        try client.checkBucket()
        for key in ["plain.json", "with space/and+plus.json", "ünï/ключ=&?.json"] {
            _ = try client.put(key, data: Data(key.utf8), contentType: "application/json")
            XCTAssertEqual(try client.get(key), Data(key.utf8))
            XCTAssertNotNil(try client.head(key))
        }
        XCTAssertEqual(try client.list(pageSize: 1).pages, 3, "continuation tokens are signed as canonical queries")
        XCTAssertEqual(try client.list(prefix: "with space/", delimiter: "/").objects.count, 1)
        let path = try randomFile("signed.bin", size: 11 << 20)
        let upload = try client.upload("signed.bin", fromFile: path)
        XCTAssertEqual(upload.parts, 3)
        XCTAssertEqual(try client.download("signed.bin", toFile: directory + "/signed.back").sha256, upload.sha256)
        XCTAssertEqual(try client.listMultipartUploads(), [])
        try client.delete("plain.json")

        var wrongSecret = good
        wrongSecret.secretAccessKey = allowed.secret + "x"
        wrongSecret.secretSource = "from file /run/secrets/s3-secret"
        let forged = S3Client(endpoint: wrongSecret, http: CurlTransport())
        for attempt in [{ _ = try forged.get("with space/and+plus.json") }, { try forged.checkBucket() }, { _ = try forged.put("x", data: Data()) }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case .signatureDoesNotMatch(_, _, let key, let source, _)? = error as? S3Error else { return XCTFail("\(error)") }
                XCTAssertEqual(key, allowed.id)
                XCTAssertEqual(source, "from file /run/secrets/s3-secret")
                XCTAssertEqual((error as? S3Error)?.hint, "the secret access key (from file /run/secrets/s3-secret) does not belong to access key \(allowed.id): check backup.store.s3.secretAccessKey / LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE")
                XCTAssertFalse("\(error)".contains(allowed.secret))
            }
        }

        var unknown = good
        unknown.accessKeyID = "AKIANOSUCHKEY0000000"
        XCTAssertThrowsError(try S3Client(endpoint: unknown, http: CurlTransport()).list()) { error in
            guard case .invalidAccessKeyId(_, _, "AKIANOSUCHKEY0000000", _)? = error as? S3Error else { return XCTFail("\(error)") }
        }

        var denied = good
        denied.accessKeyID = powerless.id
        denied.secretAccessKey = powerless.secret
        XCTAssertThrowsError(try S3Client(endpoint: denied, http: CurlTransport()).get("with space/and+plus.json")) { error in
            guard case .accessDenied(let target, _, let key, _, _)? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(key, powerless.id)
            XCTAssertEqual(target.operation, .getObject)
            XCTAssertEqual((error as? S3Error)?.hint?.hasPrefix("access key \(powerless.id) needs s3:GetObject on s3://"), true)
        }
    }

    // MARK: - Helpers

    private func randomFile(_ name: String, size: Int) throws -> String {
        let path = directory + "/" + name
        let random = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let out = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        defer { try? out.close() }
        var left = size
        while left > 0 {
            let chunk = random.readData(ofLength: min(left, 1 << 20))
            out.write(chunk)
            left -= chunk.count
        }
        return path
    }

    private func fileSHA256(_ path: String) throws -> String {
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: path))
        defer { try? handle.close() }
        let hasher = SHA256Stream()
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            hasher.update(chunk)
        }
        return hasher.finish()
    }
}

/// Forwards to `CurlTransport` unless `intercept` answers first (or throws): how a test makes the
/// third part fail, or raises Ctrl-C at a chosen request.
private struct InterceptingTransport: StreamingHTTPTransport {
    let base = CurlTransport()
    let intercept: @Sendable (HTTPRequest) throws -> HTTPResponse?

    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        if let response = try intercept(request) { return response }
        return try base.send(request, interrupt: interrupt)
    }

    func stream(_ request: HTTPRequest, interrupt: Interrupt, onChunk: (Data) throws -> Void) throws -> HTTPResponse {
        if let response = try intercept(request) { return response }
        return try base.stream(request, interrupt: interrupt, onChunk: onChunk)
    }
}

/// moto's IAM and its switch for checking signatures, driven over HTTP as any client would.
private struct MotoIAM {
    let endpoint: String
    let transport = CurlTransport()

    /// A user with an access key and, when given, an inline policy; returns the key pair.
    func createUser(_ name: String, policy: String?) throws -> (id: String, secret: String) {
        _ = try call(["Action": "CreateUser", "UserName": name])
        if let policy {
            _ = try call(["Action": "PutUserPolicy", "UserName": name, "PolicyName": "s3", "PolicyDocument": policy])
        }
        let key = try call(["Action": "CreateAccessKey", "UserName": name])
        guard let access = key.child("CreateAccessKeyResult")?.child("AccessKey"),
              let id = access.text(of: "AccessKeyId"), let secret = access.text(of: "SecretAccessKey")
        else { throw Failure(description: "CreateAccessKey answered without a key: \(key)") }
        Redactor.register(secret: secret)
        return (id, secret)
    }

    /// On: every later request must carry a valid signature by a known key with a policy allowing it.
    func checkSignatures(_ on: Bool) throws {
        let response = try transport.send(
            HTTPRequest(method: "POST", url: endpoint + "/moto-api/reset-auth", body: Data((on ? "0" : "inf").utf8)),
            interrupt: Interrupt())
        guard response.status == 200 else {
            throw Failure(description: "\(endpoint) is not moto, or too old for /moto-api/reset-auth: \(response.status) \(response.text)")
        }
    }

    /// One IAM query-API call (before checking is on, moto takes any signature for IAM).
    private func call(_ parameters: [String: String]) throws -> XMLTree {
        let form = (parameters.merging(["Version": "2010-05-08"]) { $1 })
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }
            .joined(separator: "&")
        let body = Data(form.utf8)
        let response = try transport.send(HTTPRequest(
            method: "POST", url: endpoint + "/",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("x-amz-content-sha256", SHA256.hex(body))],
            body: body,
            awsSigV4: AWSSigV4Credential(provider: "aws:amz:us-east-1:iam", accessKeyID: "AKIALUMINATEIT", secretAccessKey: "moto-iam-accepts-any-secret")),
            interrupt: Interrupt())
        guard response.status == 200 else { throw Failure(description: "IAM \(parameters["Action"] ?? "") answered \(response.status): \(response.text)") }
        return try XMLTree.parse(response.body)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }
}
