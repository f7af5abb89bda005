import Foundation
import Synchronization
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// `S3Client` through the fake transport: the exact requests (method, encoded URL, headers,
/// signing, timeouts), pagination, and the multipart sequence with its clean-ups.
final class S3ClientTests: XCTestCase {
    static let secret = "s3-client-unit-secret"
    static let base = "http://127.0.0.1:9000/luminate-backups"

    private let fake = FakeHTTPTransport()
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "s3-client-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
        XCTAssertEqual(fake.pending, 0, "expected requests were not made")
    }

    static let endpoint = S3Endpoint(
        url: "http://127.0.0.1:9000", region: "us-east-1", bucket: "luminate-backups", prefix: "prod",
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret, secretSource: "from file /run/secrets/s3")

    private func client(
        _ transport: (any HTTPTransport)? = nil, interrupt: Interrupt = Interrupt(),
        multipart: S3MultipartPolicy = S3MultipartPolicy()
    ) -> S3Client {
        S3Client(endpoint: Self.endpoint, http: transport ?? fake, interrupt: interrupt, multipart: multipart)
    }

    private static let signing = AWSSigV4Credential(
        provider: "aws:amz:us-east-1:s3", accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret)

    // MARK: - Exact requests

    func testPutSendsTheEncodedKeyTheBodyItsHashAndTheSigningCredential() throws {
        let body = Data(#"{"backup":"2026-12-02T03:00:00Z"}"#.utf8)
        fake.expect("PUT", Self.base + "/prod/manifests/2026-12-02%2003%3A00%20%2B%C3%BC.json") { request in
            XCTAssertEqual(request.headers.map { "\($0.name): \($0.value)" }, [
                "x-amz-content-sha256: \(SHA256.hex(body))", "Content-Type: application/json",
            ])
            XCTAssertEqual(request.body, body)
            XCTAssertNil(request.bodyFile)
            XCTAssertEqual(request.awsSigV4, Self.signing)
            XCTAssertEqual(request.timeout, .infinity, "object bodies have no whole-request limit")
            XCTAssertEqual(request.stallTimeout, 60)
            XCTAssertFalse("\(request)".contains(Self.secret))
            return HTTPResponse(status: 200, headers: ["etag": "\"9b2cf535f27731c974343645a3985328\""])
        }
        let upload = try client().put("manifests/2026-12-02 03:00 +ü.json", data: body, contentType: "application/json")
        XCTAssertEqual(upload, S3Upload(
            key: "manifests/2026-12-02 03:00 +ü.json", size: Int64(body.count), sha256: SHA256.hex(body),
            etag: "9b2cf535f27731c974343645a3985328", parts: 1))
    }

    func testHeadGetAndDelete() throws {
        fake.expect("HEAD", Self.base + "/prod/a.json") { request in
            XCTAssertEqual(request.headers.map(\.name), ["x-amz-content-sha256"])
            XCTAssertEqual(request.header("x-amz-content-sha256"), S3Client.emptyPayloadSHA256)
            XCTAssertEqual(request.timeout, 30)
            XCTAssertNil(request.stallTimeout)
            return HTTPResponse(status: 200, headers: [
                "content-length": "42", "etag": "\"abc\"", "last-modified": "Wed, 02 Dec 2026 03:01:38 GMT",
                "content-type": "application/json",
            ])
        }
        fake.expect("HEAD", Self.base + "/prod/b.json", status: 404)
        fake.expect("GET", Self.base + "/prod/a.json", status: 200, body: "{}")
        fake.expect("DELETE", Self.base + "/prod/a.json", status: 204)
        let client = client()
        XCTAssertEqual(try client.head("a.json"), S3ObjectInfo(
            key: "a.json", size: 42, etag: "abc", lastModified: Date(timeIntervalSince1970: 1_796_180_498),
            contentType: "application/json"))
        XCTAssertNil(try client.head("b.json"))
        XCTAssertEqual(try client.get("a.json"), Data("{}".utf8))
        try client.delete("a.json")
        XCTAssertEqual(fake.received.map(\.awsSigV4), Array(repeating: Self.signing, count: 4))
    }

    func testKeysTheClientWillNotSend() {
        for (key, message) in [
            ("", "s3 key 'prod/' is empty"),
            ("daily/../secrets", "s3 key 'prod/daily/../secrets' has a '.' or '..' segment"),
            ("./a", "s3 key 'prod/./a' has a '.' or '..' segment"),
            ("a\nb", #"s3 key '"prod/a\nb"' contains a control character"#),
            (String(repeating: "k", count: 1020), "s3 key 'prod/\(String(repeating: "k", count: 1020))' is longer than 1024 bytes"),
        ] {
            XCTAssertThrowsError(try client().head(key)) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
        XCTAssertTrue(fake.received.isEmpty, "nothing was sent")
    }

    // MARK: - Listing

    func testListingFollowsThreePagesOfContinuationTokens() throws {
        let token1 = "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
        let token2 = "token two+"
        fake.expect("GET", Self.base + "?list-type=2&max-keys=2&prefix=prod%2Fdaily%2F", status: 200, body: Self.listPage(
            ["prod/daily/a.tar", "prod/daily/b.tar"], next: token1))
        fake.expect("GET", Self.base + "?continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&list-type=2&max-keys=2&prefix=prod%2Fdaily%2F",
                    status: 200, body: Self.listPage(["prod/daily/c.tar", "prod/daily/d.tar"], next: token2))
        fake.expect("GET", Self.base + "?continuation-token=token%20two%2B&list-type=2&max-keys=2&prefix=prod%2Fdaily%2F",
                    status: 200, body: Self.listPage(["prod/daily/e.tar"], next: nil))
        let listing = try client().list(prefix: "daily/", pageSize: 2)
        XCTAssertEqual(listing.pages, 3)
        XCTAssertEqual(listing.objects.map(\.key), ["daily/a.tar", "daily/b.tar", "daily/c.tar", "daily/d.tar", "daily/e.tar"])
        XCTAssertEqual(listing.objects.first, S3Object(
            key: "daily/a.tar", size: 1024, etag: "5d41402abc4b2a76b9719d911017c592",
            lastModified: Date(timeIntervalSince1970: 1_796_180_498.5)))
    }

    func testFoldersWithADelimiter() throws {
        fake.expect("GET", Self.base + "?delimiter=%2F&list-type=2&prefix=prod%2F", status: 200, body: """
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>luminate-backups</Name>
            <Contents><Key>prod/manifest.json</Key><Size>2</Size><ETag>"e"</ETag></Contents>
            <CommonPrefixes><Prefix>prod/daily/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>prod/weekly/</Prefix></CommonPrefixes>
            <IsTruncated>false</IsTruncated></ListBucketResult>
            """)
        let listing = try client().list(delimiter: "/")
        XCTAssertEqual(listing.objects.map(\.key), ["manifest.json"])
        XCTAssertEqual(listing.commonPrefixes, ["daily/", "weekly/"])
    }

    func testAStoreThatRepeatsItsTokenIsAnErrorNotALoop() {
        fake.expect("GET", Self.base + "?list-type=2&prefix=prod%2F", status: 200, body: Self.listPage(["prod/a"], next: "t"))
        fake.expect("GET", Self.base + "?continuation-token=t&list-type=2&prefix=prod%2F", status: 200, body: Self.listPage(["prod/b"], next: "t"))
        XCTAssertThrowsError(try client().list()) { error in
            XCTAssertEqual("\(error)", "s3 at 127.0.0.1:9000 sent an unreadable answer to ListObjectsV2 s3://luminate-backups: a truncated listing without a new NextContinuationToken")
        }
    }

    func testAnAnswerThatIsNotS3sXML() {
        fake.expect("GET", Self.base + "?list-type=2&prefix=prod%2F", status: 200, body: "<html><body>proxy login</body></html>")
        XCTAssertThrowsError(try client().list()) { error in
            XCTAssertEqual("\(error)", "s3 at 127.0.0.1:9000 sent an unreadable answer to ListObjectsV2 s3://luminate-backups: malformed XML: expected <ListBucketResult>, got <html>")
            XCTAssertEqual((error as? S3Error)?.hint, "is this an S3 API endpoint? check backup.store.s3.endpoint / LUMINATECTL_S3_ENDPOINT")
        }
    }

    // MARK: - Files

    func testASmallFileIsOnePutOfTheFileSignedWithItsHash() throws {
        let (path, data) = try writeFile("manifest.bin", size: 300_000)
        fake.expect("PUT", Self.base + "/prod/backups/manifest.bin") { request in
            XCTAssertEqual(request.bodyFile, HTTPFileBody(path: path, offset: 0, length: 300_000))
            XCTAssertNil(request.body)
            XCTAssertEqual(request.header("x-amz-content-sha256"), SHA256.hex(data))
            XCTAssertEqual(request.header("Content-Type"), "application/octet-stream")
            return HTTPResponse(status: 200, headers: ["etag": "\"e1\""])
        }
        let upload = try client().upload("backups/manifest.bin", fromFile: path)
        XCTAssertEqual(upload, S3Upload(key: "backups/manifest.bin", size: 300_000, sha256: SHA256.hex(data), etag: "e1", parts: 1))
    }

    func testALargeFileGoesUpInPartsThenIsCompleted() throws {
        let (path, data) = try writeFile("large.bin", size: 11 << 20)
        let part = 5 << 20
        expectInitiate(uploadID: "u-1~x/y")
        for (number, range) in [(1, 0..<part), (2, part..<(2 * part)), (3, (2 * part)..<data.count)] {
            expectPart(number, uploadID: "u-1~x%2Fy", path: path, range: range, data: data)
        }
        fake.expect("POST", Self.base + "/prod/big/large.bin?uploadId=u-1~x%2Fy") { request in
            XCTAssertEqual(request.text, #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part><Part><PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag></Part></CompleteMultipartUpload>"#)
            XCTAssertEqual(request.header("Content-Type"), "application/xml")
            XCTAssertEqual(request.header("x-amz-content-sha256"), request.body.map(SHA256.hex))
            // S3 answers 200 at once and keeps the connection alive with whitespace while it assembles.
            return HTTPResponse(status: 200, body: Data("\n  \n<?xml version=\"1.0\"?>\n<CompleteMultipartUploadResult><ETag>\"abc-3\"</ETag></CompleteMultipartUploadResult>".utf8))
        }
        let upload = try client(multipart: S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20)).upload("big/large.bin", fromFile: path)
        XCTAssertEqual(upload, S3Upload(key: "big/large.bin", size: Int64(data.count), sha256: SHA256.hex(data), etag: "abc-3", parts: 3))
    }

    func testAFailedPartAbortsTheUpload() throws {
        let (path, data) = try writeFile("large.bin", size: 11 << 20)
        expectInitiate(uploadID: "u-2")
        expectPart(1, uploadID: "u-2", path: path, range: 0..<(5 << 20), data: data)
        fake.expect("PUT", Self.base + "/prod/big/large.bin?partNumber=2&uploadId=u-2", status: 500, body: """
            <Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>R2</RequestId></Error>
            """)
        fake.expect("DELETE", Self.base + "/prod/big/large.bin?uploadId=u-2", status: 204)
        XCTAssertThrowsError(try client(multipart: .init(threshold: 5 << 20, partSize: 5 << 20)).upload("big/large.bin", fromFile: path)) { error in
            XCTAssertEqual("\(error)", "s3 at 127.0.0.1:9000 failed UploadPart s3://luminate-backups/prod/big/large.bin: InternalError (http 500, request id R2): We encountered an internal error. Please try again.")
            XCTAssertEqual((error as? S3Error)?.hint, "the store is overloaded or failing; retry later")
        }
    }

    func testAnInterruptDuringAPartAbortsTheUploadWithAFreshInterrupt() throws {
        let (path, data) = try writeFile("large.bin", size: 11 << 20)
        let interrupt = Interrupt()
        let recorder = InterruptRecorder(base: fake)
        expectInitiate(uploadID: "u-3")
        expectPart(1, uploadID: "u-3", path: path, range: 0..<(5 << 20), data: data)
        fake.expect("PUT", Self.base + "/prod/big/large.bin?partNumber=2&uploadId=u-3") { _ in
            interrupt.raise(SIGINT)  // what CurlTransport does on Ctrl-C mid-transfer
            throw HTTPTransportError.interrupted(host: "127.0.0.1:9000")
        }
        fake.expect("DELETE", Self.base + "/prod/big/large.bin?uploadId=u-3", status: 204)
        let client = client(recorder, interrupt: interrupt, multipart: .init(threshold: 5 << 20, partSize: 5 << 20))
        XCTAssertThrowsError(try client.upload("big/large.bin", fromFile: path)) { error in
            XCTAssertEqual("\(error)", "UploadPart s3://luminate-backups/prod/big/large.bin on s3 at 127.0.0.1:9000 interrupted; multipart upload u-3 was aborted")
            XCTAssertEqual((error as? S3Error)?.exitCode, .interrupted)
        }
        XCTAssertEqual(recorder.interruptSetAtEachRequest, [false, false, false, false], "the abort goes out despite the Ctrl-C")
        XCTAssertTrue(interrupt.isSet)
    }

    func testAnInterruptWhileHashingAPartAbortsToo() throws {
        let (path, _) = try writeFile("large.bin", size: 11 << 20)
        let interrupt = Interrupt()
        fake.expect("POST", Self.base + "/prod/big/large.bin?uploads=") { _ in
            interrupt.raise(SIGTERM)
            return HTTPResponse(status: 200, body: Data("<InitiateMultipartUploadResult><UploadId>u-4</UploadId></InitiateMultipartUploadResult>".utf8))
        }
        fake.expect("DELETE", Self.base + "/prod/big/large.bin?uploadId=u-4", status: 204)
        XCTAssertThrowsError(try client(interrupt: interrupt, multipart: .init(threshold: 5 << 20, partSize: 5 << 20))
            .upload("big/large.bin", fromFile: path)) { error in
            XCTAssertEqual("\(error)", "UploadPart s3://luminate-backups/prod/big/large.bin on s3 at 127.0.0.1:9000 interrupted; multipart upload u-4 was aborted")
        }
    }

    func testACompleteThatFailsAfterItsStatusLineAbortsTheUpload() throws {
        let (path, data) = try writeFile("large.bin", size: 6 << 20)
        expectInitiate(uploadID: "u-5")
        expectPart(1, uploadID: "u-5", path: path, range: 0..<(5 << 20), data: data)
        expectPart(2, uploadID: "u-5", path: path, range: (5 << 20)..<data.count, data: data)
        fake.expect("POST", Self.base + "/prod/big/large.bin?uploadId=u-5", status: 200, body: """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>R5</RequestId></Error>
            """)
        fake.expect("DELETE", Self.base + "/prod/big/large.bin?uploadId=u-5", status: 204)
        XCTAssertThrowsError(try client(multipart: .init(threshold: 5 << 20, partSize: 5 << 20)).upload("big/large.bin", fromFile: path)) { error in
            guard case .server(let target, _, 200, "InternalError", _, "R5")? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(target.operation, .completeMultipartUpload)
        }
    }

    func testAnUploadThatCannotBeAbortedSaysHowToAbortItByHand() throws {
        let (path, _) = try writeFile("large.bin", size: 6 << 20)
        expectInitiate(uploadID: "u-6")
        fake.expect("PUT", Self.base + "/prod/big/large.bin?partNumber=1&uploadId=u-6") { _ in
            throw HTTPTransportError.transport(host: "127.0.0.1:9000", curlCode: 56, message: "Recv failure: Connection reset by peer")
        }
        fake.expect("DELETE", Self.base + "/prod/big/large.bin?uploadId=u-6") { _ in
            throw HTTPTransportError.transport(host: "127.0.0.1:9000", curlCode: 7, message: "Failed to connect to 127.0.0.1 port 9000")
        }
        XCTAssertThrowsError(try client(multipart: .init(threshold: 5 << 20, partSize: 5 << 20)).upload("big/large.bin", fromFile: path)) { error in
            XCTAssertEqual("\(error)", "upload of s3://luminate-backups/prod/big/large.bin to 127.0.0.1:9000 failed (cannot reach s3 at 127.0.0.1:9000 for UploadPart s3://luminate-backups/prod/big/large.bin: Recv failure: Connection reset by peer (curl error 56)) and its multipart upload u-6 could not be aborted: cannot reach s3 at 127.0.0.1:9000 for AbortMultipartUpload s3://luminate-backups/prod/big/large.bin: Failed to connect to 127.0.0.1 port 9000 (curl error 7)")
            XCTAssertEqual((error as? S3Error)?.hint, "abort it with `aws s3api abort-multipart-upload --endpoint-url http://127.0.0.1:9000 --bucket luminate-backups --key prod/big/large.bin --upload-id u-6`; an AbortIncompleteMultipartUpload lifecycle rule removes such uploads too")
        }
    }

    func testAnAbortOfAnUploadThatIsGoneCountsAsDone() throws {
        fake.expect("DELETE", Self.base + "/prod/x.bin?uploadId=u-7", status: 404, body: "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>")
        XCTAssertNoThrow(try client().abortMultipartUpload("x.bin", uploadID: "u-7"))
    }

    func testPartSizesGrowToStayWithinTenThousandParts() {
        let policy = S3MultipartPolicy()
        XCTAssertEqual(policy.partSize(forFileOf: 100 << 20), 16 << 20)
        XCTAssertEqual(policy.partSize(forFileOf: 1 << 40), 105 << 20, "1 TiB in at most 10,000 parts of whole MiB")
        XCTAssertThrowsError(try S3MultipartPolicy(threshold: 1 << 20, partSize: 1 << 20).validate()) { error in
            XCTAssertEqual("\(error)", "s3 multipart part size must be between 5 MiB and 5 GiB, got 1048576 bytes")
        }
        XCTAssertNoThrow(try S3MultipartPolicy(threshold: 5 << 20, partSize: 5 << 20).validate())
    }

    func testListMultipartUploadsFollowsItsMarkers() throws {
        fake.expect("GET", Self.base + "?prefix=prod%2F&uploads=", status: 200, body: """
            <ListMultipartUploadsResult><Upload><Key>prod/a.bin</Key><UploadId>u1</UploadId><Initiated>2026-12-02T03:00:00.000Z</Initiated></Upload>
            <IsTruncated>true</IsTruncated><NextKeyMarker>prod/a.bin</NextKeyMarker><NextUploadIdMarker>u1</NextUploadIdMarker></ListMultipartUploadsResult>
            """)
        fake.expect("GET", Self.base + "?key-marker=prod%2Fa.bin&prefix=prod%2F&upload-id-marker=u1&uploads=", status: 200, body: """
            <ListMultipartUploadsResult><Upload><Key>prod/b.bin</Key><UploadId>u2</UploadId></Upload><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>
            """)
        XCTAssertEqual(try client().listMultipartUploads(), [
            S3MultipartUploadInfo(key: "a.bin", uploadID: "u1", initiated: Date(timeIntervalSince1970: 1_796_180_400)),
            S3MultipartUploadInfo(key: "b.bin", uploadID: "u2", initiated: nil),
        ])
    }

    // MARK: - Downloads

    func testADownloadIsHashedAndTakesItsNameOnlyWhenComplete() throws {
        let body = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })
        fake.expect("GET", Self.base + "/prod/restore/part.bin") { request in
            XCTAssertEqual(request.stallTimeout, 60)
            return HTTPResponse(status: 200, headers: ["etag": "\"d1\""], body: body)
        }
        let target = directory + "/part.bin"
        let download = try client().download("restore/part.bin", toFile: target)
        XCTAssertEqual(download, S3Download(key: "restore/part.bin", size: 100_000, sha256: SHA256.hex(body), etag: "d1"))
        XCTAssertEqual(FileManager.default.contents(atPath: target), body)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + ".partial"))
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testAFailedDownloadLeavesNoFile() throws {
        fake.expect("GET", Self.base + "/prod/restore/gone.bin", status: 404, body: "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>prod/restore/gone.bin</Key></Error>")
        let target = directory + "/gone.bin"
        XCTAssertThrowsError(try client().download("restore/gone.bin", toFile: target)) { error in
            XCTAssertEqual("\(error)", "s3://luminate-backups/prod/restore/gone.bin does not exist at 127.0.0.1:9000 (NoSuchKey)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertFalse(FileManager.default.fileExists(atPath: target + ".partial"))
    }

    func testADownloadIntoAMissingDirectoryIsALocalFileError() {
        XCTAssertThrowsError(try client().download("x.bin", toFile: directory + "/no/such/dir/x.bin")) { error in
            XCTAssertEqual(error as? S3Error, .localFile(path: directory + "/no/such/dir/x.bin.partial", reason: "No such file or directory"))
        }
    }

    // MARK: - Helpers

    private func expectInitiate(uploadID: String) {
        fake.expect("POST", Self.base + "/prod/big/large.bin?uploads=") { request in
            XCTAssertEqual(request.header("Content-Type"), "application/octet-stream", "the object's content type is set here")
            XCTAssertEqual(request.header("x-amz-content-sha256"), S3Client.emptyPayloadSHA256)
            XCTAssertEqual(request.body, Data())
            return HTTPResponse(status: 200, body: Data("""
                <?xml version="1.0" encoding="UTF-8"?>
                <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>luminate-backups</Bucket><Key>prod/big/large.bin</Key><UploadId>\(uploadID)</UploadId></InitiateMultipartUploadResult>
                """.utf8))
        }
    }

    private func expectPart(_ number: Int, uploadID: String, path: String, range: Range<Int>, data: Data) {
        let sha256 = SHA256.hex(data.subdata(in: range))
        fake.expect("PUT", Self.base + "/prod/big/large.bin?partNumber=\(number)&uploadId=\(uploadID)") { request in
            XCTAssertEqual(request.bodyFile, HTTPFileBody(path: path, offset: Int64(range.lowerBound), length: Int64(range.count)))
            XCTAssertEqual(request.header("x-amz-content-sha256"), sha256, "part \(number) is signed with its own hash")
            XCTAssertEqual(request.awsSigV4, Self.signing)
            return HTTPResponse(status: 200, headers: ["etag": "\"etag-\(number)\""])
        }
    }

    private func writeFile(_ name: String, size: Int) throws -> (String, Data) {
        let block = Data((0..<(1 << 16)).map { UInt8(truncatingIfNeeded: ($0 >> 8) ^ $0) })
        var data = Data(capacity: size)
        while data.count < size {
            data.append(block.prefix(size - data.count))
            if data.count < size { data.append(UInt8(truncatingIfNeeded: data.count >> 16)) }  // no two blocks alike
        }
        let path = directory + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    private static func listPage(_ keys: [String], next: String?) -> String {
        let contents = keys.map {
            "<Contents><Key>\($0)</Key><LastModified>2026-12-02T03:01:38.500Z</LastModified><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>1024</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }.joined()
        let tail = next.map { "<IsTruncated>true</IsTruncated><NextContinuationToken>\($0)</NextContinuationToken>" }
            ?? "<IsTruncated>false</IsTruncated>"
        return #"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>luminate-backups</Name>"#
            + contents + tail + "</ListBucketResult>"
    }
}

/// Passes requests to a fake and notes, for each, whether the interrupt it came with was set.
private final class InterruptRecorder: HTTPTransport {
    let base: FakeHTTPTransport
    private let seen = Mutex<[Bool]>([])

    init(base: FakeHTTPTransport) { self.base = base }

    var interruptSetAtEachRequest: [Bool] { seen.withLock { $0 } }

    func send(_ request: HTTPRequest, interrupt: Interrupt) throws -> HTTPResponse {
        seen.withLock { $0.append(interrupt.isSet) }
        return try base.send(request, interrupt: interrupt)
    }
}

extension HTTPRequest {
    /// The body as text, for comparing XML bodies.
    fileprivate var text: String { String(decoding: body ?? Data(), as: UTF8.self) }
}
