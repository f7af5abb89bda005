import Foundation
import XCTest
@testable import OpsKit
import OpsKitTestSupport

/// Each answer S3 (AWS's wording, recorded) or a proxy gives, and the line and hint an operator
/// reads for it. The authentication failures are also produced for real against moto with
/// signature checking on (S3IntegrationTests); these keep AWS's own documents covered.
final class S3ErrorTests: XCTestCase {
    private let fake = FakeHTTPTransport()
    private static let base = "http://127.0.0.1:9000/luminate-backups"

    private var client: S3Client { S3Client(endpoint: S3ClientTests.endpoint, http: fake) }

    override func tearDown() {
        XCTAssertEqual(fake.pending, 0, "expected requests were not made")
    }

    /// What a GET of `prod/daily/a.tar` turns into when the store answers `status` with `body`.
    private func getError(status: Int, body: String, headers: [String: String] = [:]) -> S3Error? {
        fake.expect("GET", Self.base + "/prod/daily/a.tar", status: status, body: body, headers: headers)
        do {
            _ = try client.get("daily/a.tar")
            XCTFail("no error")
            return nil
        } catch {
            XCTAssertTrue(error is S3Error, "\(error)")
            return error as? S3Error
        }
    }

    private func assertLines(_ error: S3Error?, _ description: String, hint: String?, line: UInt = #line) {
        XCTAssertEqual(error?.description, description, line: line)
        XCTAssertEqual(error?.hint, hint, line: line)
    }

    func testNoSuchBucket() {
        let error = getError(status: 404, body: """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>luminate-backups</BucketName><RequestId>4Y8TT9VKCRZMNK4W</RequestId><HostId>x9Iq0o+g=</HostId></Error>
            """)
        assertLines(error, "s3 bucket luminate-backups does not exist at 127.0.0.1:9000 (NoSuchBucket, request id 4Y8TT9VKCRZMNK4W)",
                    hint: "is the bucket name right? `aws s3 ls --endpoint-url http://127.0.0.1:9000` lists the buckets these credentials see; check backup.store.s3.bucket / LUMINATECTL_S3_BUCKET")
    }

    func testNoSuchKey() {
        let error = getError(status: 404, body: """
            <Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>prod/daily/a.tar</Key><RequestId>R1</RequestId></Error>
            """)
        assertLines(error, "s3://luminate-backups/prod/daily/a.tar does not exist at 127.0.0.1:9000 (NoSuchKey, request id R1)",
                    hint: "`aws s3 ls s3://luminate-backups/prod/daily/` lists what is there")
    }

    func testAccessDenied() {
        let error = getError(status: 403, body: """
            <Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R2</RequestId><HostId>h</HostId></Error>
            """)
        assertLines(error, "s3 at 127.0.0.1:9000 denied GetObject s3://luminate-backups/prod/daily/a.tar to access key AKIDEXAMPLE (AccessDenied, request id R2): Access Denied",
                    hint: "access key AKIDEXAMPLE needs s3:GetObject on s3://luminate-backups/prod/daily/a.tar: check the bucket policy and the key's IAM policy")
    }

    func testSignatureDoesNotMatchEvenWhenTheServerEchoesTheSecret() {
        // AWS sends the string it signed back; a misbehaving proxy might add more. Nothing of it is shown.
        let error = getError(status: 403, body: """
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method. (\(S3ClientTests.secret))</Message><AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256
            20261202T030138Z
            20261202/us-east-1/s3/aws4_request
            5d41402abc4b2a76b9719d911017c592</StringToSign><SignatureProvided>ab12</SignatureProvided><CanonicalRequest>GET
            /luminate-backups/prod/daily/a.tar</CanonicalRequest><RequestId>R3</RequestId></Error>
            """)
        assertLines(error, "s3 at 127.0.0.1:9000 rejected the signature of access key AKIDEXAMPLE for GetObject s3://luminate-backups/prod/daily/a.tar (SignatureDoesNotMatch, request id R3)",
                    hint: "the secret access key (from file /run/secrets/s3) does not belong to access key AKIDEXAMPLE: check backup.store.s3.secretAccessKey / LUMINATECTL_S3_SECRET_ACCESS_KEY_FILE")
        XCTAssertFalse(String(reflecting: error as Any).contains(S3ClientTests.secret))
    }

    func testInvalidAccessKeyId() {
        let error = getError(status: 403, body: """
            <Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><RequestId>R4</RequestId></Error>
            """)
        assertLines(error, "s3 at 127.0.0.1:9000 does not know access key AKIDEXAMPLE, refused GetObject s3://luminate-backups/prod/daily/a.tar (InvalidAccessKeyId, request id R4)",
                    hint: "check backup.store.s3.accessKeyId / LUMINATECTL_S3_ACCESS_KEY_ID, and that the endpoint is the store the key belongs to")
    }

    func testWrongRegionFromTheDocumentOrTheHeader() {
        let malformed = getError(status: 400, body: """
            <Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>R5</RequestId></Error>
            """)
        assertLines(malformed, "s3 bucket luminate-backups at 127.0.0.1:9000 is not in region us-east-1 but in eu-west-1 (GetObject)",
                    hint: "set backup.store.s3.region / LUMINATECTL_S3_REGION to eu-west-1")
        let redirect = getError(status: 301, body: "", headers: ["x-amz-bucket-region": "ap-south-1"])
        XCTAssertEqual(redirect?.hint, "set backup.store.s3.region / LUMINATECTL_S3_REGION to ap-south-1")
        let bare = getError(status: 301, body: "<Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message></Error>")
        assertLines(bare, "s3 bucket luminate-backups at 127.0.0.1:9000 is not in region us-east-1 (GetObject)",
                    hint: "check backup.store.s3.region / LUMINATECTL_S3_REGION: it must be the bucket's region")
    }

    func testOtherServerErrorsKeepCodeStatusAndRequestID() {
        let skewed = getError(status: 403, body: "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestId>R6</RequestId></Error>")
        assertLines(skewed, "s3 at 127.0.0.1:9000 failed GetObject s3://luminate-backups/prod/daily/a.tar: RequestTimeTooSkewed (http 403, request id R6): The difference between the request time and the current time is too large.",
                    hint: "this machine's clock is more than 15 minutes off the store's: check NTP (timedatectl status)")
        let slow = getError(status: 503, body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                            headers: ["x-amz-request-id": "HDR-ID"])
        assertLines(slow, "s3 at 127.0.0.1:9000 failed GetObject s3://luminate-backups/prod/daily/a.tar: SlowDown (http 503, request id HDR-ID): Please reduce your request rate.",
                    hint: "the store is overloaded or failing; retry later")
        let proxy = getError(status: 502, body: "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>")
        assertLines(proxy, "s3 at 127.0.0.1:9000 failed GetObject s3://luminate-backups/prod/daily/a.tar: HTTP 502 (http 502): <html>",
                    hint: "the store failed; retry later, or check its health")
    }

    func testHeadAnswersWithoutBodies() {
        fake.expect("HEAD", Self.base + "/prod/daily/a.tar", status: 403)
        XCTAssertThrowsError(try client.head("daily/a.tar")) { error in
            guard case .accessDenied(let target, _, _, "", nil)? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(target.operation, .headObject)
        }
    }

    func testCheckBucketAsksAgainWhenAHeadIsRefusedWithoutReason() {
        fake.expect("HEAD", Self.base, status: 404)
        XCTAssertThrowsError(try client.checkBucket()) { error in
            XCTAssertEqual((error as? S3Error)?.code, "NoSuchBucket")
        }
        fake.expect("HEAD", Self.base, status: 403)
        fake.expect("GET", Self.base + "?list-type=2&max-keys=1&prefix=prod%2F", status: 403, body: """
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message><RequestId>R7</RequestId></Error>
            """)
        XCTAssertThrowsError(try client.checkBucket()) { error in
            guard case .signatureDoesNotMatch(let target, _, _, _, "R7")? = error as? S3Error else { return XCTFail("\(error)") }
            XCTAssertEqual(target.operation, .listObjects)
        }
        fake.expect("HEAD", Self.base, status: 200)
        XCTAssertNoThrow(try client.checkBucket())
    }

    func testFailuresBelowHTTP() {
        fake.expect("GET", Self.base + "/prod/daily/a.tar") { _ in
            throw HTTPTransportError.transport(host: "127.0.0.1:9000", curlCode: 7, message: "Failed to connect to 127.0.0.1 port 9000 after 0 ms: Couldn't connect to server")
        }
        fake.expect("GET", Self.base + "/prod/daily/a.tar") { _ in throw HTTPTransportError.timedOut(host: "127.0.0.1:9000", seconds: 60) }
        fake.expect("GET", Self.base + "/prod/daily/a.tar") { _ in throw HTTPTransportError.responseTooLarge(host: "127.0.0.1:9000", limit: 1024) }
        fake.expect("GET", Self.base + "/prod/daily/a.tar") { _ in throw HTTPTransportError.interrupted(host: "127.0.0.1:9000") }
        var errors: [S3Error] = []
        for _ in 0..<4 {
            do { _ = try client.get("daily/a.tar") } catch { errors.append(error as! S3Error) }
        }
        XCTAssertEqual(errors.map(\.description), [
            "cannot reach s3 at 127.0.0.1:9000 for GetObject s3://luminate-backups/prod/daily/a.tar: Failed to connect to 127.0.0.1 port 9000 after 0 ms: Couldn't connect to server (curl error 7)",
            "s3 at 127.0.0.1:9000 did not answer GetObject s3://luminate-backups/prod/daily/a.tar within 1 min",
            "s3://luminate-backups/prod/daily/a.tar from s3 at 127.0.0.1:9000 is larger than 1024 bytes",
            "GetObject s3://luminate-backups/prod/daily/a.tar on s3 at 127.0.0.1:9000 interrupted",
        ])
        XCTAssertEqual(errors.map(\.hint), [
            "is the S3 endpoint http://127.0.0.1:9000 right and reachable from here? check backup.store.s3.endpoint / LUMINATECTL_S3_ENDPOINT",
            "the store is slow or the network stalls; retry, or check the store's health",
            "download the object to a file instead of into memory",
            nil,
        ])
        XCTAssertEqual(errors.map(\.exitCode), [.failure, .failure, .failure, .interrupted])
    }

    func testAFileThatCannotBeReadIsALocalFileError() {
        XCTAssertThrowsError(try client.upload("x.bin", fromFile: "/nonexistent/backup.tar")) { error in
            XCTAssertEqual("\(error)", "local file /nonexistent/backup.tar: No such file or directory")
        }
    }
}
