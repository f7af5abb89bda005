import Foundation

/// An S3 client over the `HTTPTransport` seam, for backups and their manifests: no SDK, libcurl
/// signs every request with AWS Signature Version 4 (`HTTPRequest.awsSigV4`).
///
/// Keys are relative to the endpoint's key prefix everywhere in this API; errors show the full
/// key, as `aws s3 ls` does. Every request carries `x-amz-content-sha256`, set here: libcurl 7.88
/// adds no such header and hashes only in-memory bodies, so an upload read from a file would be
/// signed as if empty. A file body is hashed first and signed with its real hash, which makes S3
/// verify every byte that arrives (`XAmzContentSHA256Mismatch` otherwise); the file is read twice
/// for that (the second time mostly from the page cache, one part at a time), never held.
package struct S3Client: Sendable {
    /// The payload hash of a request without a body.
    package static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// Most bytes `get(_:)` holds in memory by default; larger objects go to `download(_:toFile:)`.
    package static let defaultGetLimit = 64 << 20

    package let endpoint: S3Endpoint
    package var multipart: S3MultipartPolicy
    let http: any HTTPTransport
    var interrupt: Interrupt
    private let signing: AWSSigV4Credential

    package init(
        endpoint: S3Endpoint, http: any HTTPTransport, interrupt: Interrupt = Interrupt(),
        multipart: S3MultipartPolicy = S3MultipartPolicy()
    ) {
        self.endpoint = endpoint
        self.http = http
        self.interrupt = interrupt
        self.multipart = multipart
        signing = AWSSigV4Credential(
            provider: endpoint.signingProvider, accessKeyID: endpoint.accessKeyID, secretAccessKey: endpoint.secretAccessKey)
    }

    /// A client using the context's transport and interrupt.
    package init(endpoint: S3Endpoint, context: Context) {
        self.init(endpoint: endpoint, http: context.http, interrupt: context.interrupt)
    }

    // MARK: - Bucket

    /// HeadBucket: returns when the bucket exists and these credentials may list it, else throws
    /// why not. A HEAD answer has no body, so a 403 or 400 is asked again as a one-key listing,
    /// whose error document says which it is (a wrong secret, an unknown key, a policy, a region).
    package func checkBucket() throws {
        let target = S3Target(.headBucket, bucket: endpoint.bucket)
        let response = try send(request(method: "HEAD", key: nil), target)
        if (200..<300).contains(response.status) { return }
        if [400, 403].contains(response.status), S3ErrorDocument(response.body) == nil {
            _ = try listPage(maxKeys: 1)
        }
        throw S3Error.from(response: response, target: target, endpoint: endpoint)
    }

    // MARK: - Listing

    /// One page of ListObjectsV2 under `prefix` (relative to the key prefix). With a delimiter
    /// (`/`), keys below the next delimiter are rolled up into `commonPrefixes`.
    package func listPage(
        prefix: String = "", delimiter: String? = nil, maxKeys: Int? = nil, continuationToken: String? = nil
    ) throws -> S3ListPage {
        let target = S3Target(.listObjects, bucket: endpoint.bucket, key: nil)
        var query = [("list-type", "2")]
        let fullPrefix = endpoint.fullKey(prefix)
        if !fullPrefix.isEmpty { query.append(("prefix", fullPrefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try send(request(method: "GET", key: nil, query: query), target)
        let root = try document(response, target)
        do {
            return try S3Documents.listPage(root, keyPrefix: endpoint.prefix)
        } catch let error as XMLError {
            throw S3Error.malformedResponse(target: target, host: endpoint.host, detail: error.description)
        }
    }

    /// Every object under `prefix`, following continuation tokens; `pageSize` is ListObjectsV2's
    /// `max-keys` (S3's default and maximum: 1000).
    package func list(prefix: String = "", delimiter: String? = nil, pageSize: Int? = nil) throws -> S3Listing {
        var listing = S3Listing(objects: [], commonPrefixes: [], pages: 0)
        var token: String?
        var seen: Set<String> = []
        while true {
            let page = try listPage(prefix: prefix, delimiter: delimiter, maxKeys: pageSize, continuationToken: token)
            listing.objects += page.objects
            listing.commonPrefixes += page.commonPrefixes
            listing.pages += 1
            guard page.isTruncated else { return listing }
            // A store that repeats a token would have us list forever.
            guard let next = page.nextContinuationToken, seen.insert(next).inserted else {
                throw S3Error.malformedResponse(
                    target: S3Target(.listObjects, bucket: endpoint.bucket), host: endpoint.host,
                    detail: "a truncated listing without a new NextContinuationToken")
            }
            token = next
        }
    }

    // MARK: - Objects

    /// HeadObject: what is stored under `key`, or nil when nothing is.
    package func head(_ key: String) throws -> S3ObjectInfo? {
        let fullKey = try checkKey(key)
        let target = S3Target(.headObject, bucket: endpoint.bucket, key: fullKey)
        let response = try send(request(method: "HEAD", key: fullKey), target)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        return S3ObjectInfo(
            key: key, size: response.headers["content-length"].flatMap { Int64($0) } ?? 0,
            etag: S3Documents.unquote(response.headers["etag"] ?? ""),
            lastModified: response.headers["last-modified"].flatMap { DateParser().httpDate($0) },
            contentType: response.headers["content-type"])
    }

    /// GetObject into memory, for small objects (manifests); more than `limit` bytes is an error.
    package func get(_ key: String, limit: Int = S3Client.defaultGetLimit) throws -> Data {
        let fullKey = try checkKey(key)
        let target = S3Target(.getObject, bucket: endpoint.bucket, key: fullKey)
        let response = try send(request(method: "GET", key: fullKey, responseLimit: limit, objectBody: true), target)
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        return response.body
    }

    /// GetObject streamed: each piece goes to `sink` as it arrives, hashed on the way. An error
    /// thrown by `sink` stops the transfer and is rethrown as is.
    package func get(_ key: String, into sink: (Data) throws -> Void) throws -> S3Download {
        let fullKey = try checkKey(key)
        let target = S3Target(.getObject, bucket: endpoint.bucket, key: fullKey)
        let hasher = SHA256Stream()
        var size: Int64 = 0
        let response = try stream(request(method: "GET", key: fullKey, objectBody: true), target) { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
            try sink(chunk)
        }
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        return S3Download(
            key: key, size: size, sha256: hasher.finish(), etag: response.headers["etag"].map(S3Documents.unquote))
    }

    /// GetObject into a file: written to `PATH.partial` and renamed over `path` once complete, so a
    /// failed or interrupted download never leaves a truncated file under the real name.
    package func download(_ key: String, toFile path: String) throws -> S3Download {
        let file = try S3PartialFile(creatingFor: path)
        do {
            let download = try get(key) { try file.write($0) }
            try file.commit()
            return download
        } catch {
            file.discard()
            throw error
        }
    }

    /// PutObject from memory (manifests, small objects).
    package func put(_ key: String, data: Data, contentType: String = "application/octet-stream") throws -> S3Upload {
        let fullKey = try checkKey(key)
        let target = S3Target(.putObject, bucket: endpoint.bucket, key: fullKey)
        let sha256 = SHA256.hex(data)
        let response = try send(
            request(method: "PUT", key: fullKey, headers: [("Content-Type", contentType)], body: data,
                    payloadSHA256: sha256, objectBody: true),
            target)
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        return S3Upload(
            key: key, size: Int64(data.count), sha256: sha256, etag: S3Documents.unquote(response.headers["etag"] ?? ""),
            parts: 1)
    }

    /// DeleteObject. S3 answers 204 whether or not the key existed.
    package func delete(_ key: String) throws {
        let fullKey = try checkKey(key)
        let target = S3Target(.deleteObject, bucket: endpoint.bucket, key: fullKey)
        let response = try send(request(method: "DELETE", key: fullKey), target)
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
    }

    /// Deletes each key in turn (one DELETE each: DeleteObjects needs a Content-MD5 that not every
    /// store accepts the same way), stopping at the first failure.
    package func delete(_ keys: [String]) throws {
        for key in keys { try delete(key) }
    }

    // MARK: - Requests (pure, for tests and --dry-run)

    /// The request for one action, as it will be sent. `key` is the full key (nil for the
    /// bucket). Object bodies get the stall timeout instead of a whole-request limit.
    package func request(
        method: String, key: String?, query: [(String, String)] = [], headers: [(name: String, value: String)] = [],
        body: Data? = nil, bodyFile: HTTPFileBody? = nil, payloadSHA256: String = S3Client.emptyPayloadSHA256,
        responseLimit: Int = 16 << 20, objectBody: Bool = false
    ) -> HTTPRequest {
        let url = key.map { endpoint.objectURL(fullKey: $0, query: query) } ?? endpoint.bucketURL(query: query)
        return HTTPRequest(
            method: method, url: url, headers: [("x-amz-content-sha256", payloadSHA256)] + headers,
            body: body, bodyFile: bodyFile, awsSigV4: signing, connectTimeout: endpoint.connectTimeout,
            timeout: objectBody ? .infinity : endpoint.timeout, stallTimeout: objectBody ? endpoint.stallTimeout : nil,
            responseLimit: responseLimit)
    }

    // MARK: - Plumbing

    /// The full key for `key`, or why it cannot be sent: libcurl resolves `.` and `..` segments
    /// (RFC 3986) before signing, so such a key would address, and sign, another path; and XML
    /// cannot carry control characters, so such a key could never be listed back.
    func checkKey(_ key: String) throws -> String {
        let fullKey = endpoint.fullKey(key)
        guard !key.isEmpty else { throw S3Error.invalidKey(key: fullKey, reason: "is empty") }
        guard fullKey.utf8.count <= 1024 else { throw S3Error.invalidKey(key: fullKey, reason: "is longer than 1024 bytes") }
        if fullKey.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) {
            throw S3Error.invalidKey(key: fullKey, reason: "has a '.' or '..' segment")
        }
        if fullKey.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw S3Error.invalidKey(key: fullKey.debugDescription, reason: "contains a control character")
        }
        return fullKey
    }

    func send(_ request: HTTPRequest, _ target: S3Target) throws -> HTTPResponse {
        try translatingFailures(target) { try http.send(request, interrupt: interrupt) }
    }

    func stream(_ request: HTTPRequest, _ target: S3Target, onChunk: (Data) throws -> Void) throws -> HTTPResponse {
        try translatingFailures(target) { try http.streaming(request, interrupt: interrupt, onChunk: onChunk) }
    }

    /// The XML document of a 2xx answer; an error status, or an `<Error>` document that came with
    /// a 200, throws the error it describes.
    func document(_ response: HTTPResponse, _ target: S3Target) throws -> XMLTree {
        guard (200..<300).contains(response.status) else {
            throw S3Error.from(response: response, target: target, endpoint: endpoint)
        }
        let root: XMLTree
        do {
            root = try XMLTree.parse(response.body)
        } catch let error as XMLError {
            throw S3Error.malformedResponse(target: target, host: endpoint.host, detail: error.description)
        }
        if root.name == "Error" { throw S3Error.from(response: response, target: target, endpoint: endpoint) }
        return root
    }

    private func translatingFailures(_ target: S3Target, _ body: () throws -> HTTPResponse) throws -> HTTPResponse {
        do {
            return try body()
        } catch let error as HTTPTransportError {
            throw S3Error.from(transport: error, target: target, endpoint: endpoint)
        } catch let error as HTTPBodyFileError {
            throw S3Error.localFile(path: error.path, reason: error.reason)
        }
    }
}
