import Foundation

/// Where backups live and as whom to reach them: an S3 (or S3-compatible) endpoint, a bucket, an
/// optional key prefix under which luminatectl keeps everything, and a SigV4 key pair.
///
/// The secret access key is left out of `description` and of reflection (`dump`,
/// `String(reflecting:)`), and registered with `Redactor` on creation.
package struct S3Endpoint: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// How a bucket is named in a URL.
    package enum Addressing: String, Sendable, Equatable {
        /// `http://host:port/bucket/key`: moto, MinIO, Ceph and most on-premises stores.
        case path
        /// `https://bucket.host/key`: AWS's default; needs a wildcard DNS name for the endpoint.
        case virtualHost = "virtual-host"
    }

    /// `http(s)://host[:port]`: no path, query or credentials in it.
    package var url: String
    package var region: String
    package var bucket: String
    /// Prepended to every key (`luminate/prod/`); empty or ending in `/`.
    package var prefix: String
    package var accessKeyID: String
    package var secretAccessKey: String
    /// Where the secret came from (`from file /run/secrets/s3-secret`), for hints.
    package var secretSource: String?
    package var addressing: Addressing
    package var connectTimeout: Double
    /// Whole-request limit for requests without an object body (listings, HEAD, DELETE, the
    /// bookkeeping of multipart uploads).
    package var timeout: Double
    /// Object bodies (GET, PUT, parts) have no whole-request limit, a restore can take hours; a
    /// transfer in which no byte moves for this long fails instead.
    package var stallTimeout: Double

    package init(
        url: String, region: String, bucket: String, prefix: String = "",
        accessKeyID: String, secretAccessKey: String, secretSource: String? = nil,
        addressing: Addressing = .path, connectTimeout: Double = 5, timeout: Double = 30, stallTimeout: Double = 60
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.region = region
        self.bucket = bucket
        self.prefix = Self.normalizePrefix(prefix)
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.secretSource = secretSource
        self.addressing = addressing
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.stallTimeout = stallTimeout
        Redactor.register(secret: secretAccessKey)
    }

    /// `s3://luminate-backups/luminate/prod/ at http://127.0.0.1:9000 (us-east-1, path-style)`.
    package var description: String {
        "s3://\(bucket)/\(prefix) at \(Redactor.redactURL(url)) (\(region), \(addressing == .path ? "path-style" : "virtual-host-style"))"
    }

    package var customMirror: Mirror {
        Mirror(self, children: [
            "url": url, "region": region, "bucket": bucket, "prefix": prefix, "accessKeyID": accessKeyID,
            "secretAccessKey": Redactor.mask, "secretSource": secretSource as Any, "addressing": addressing.rawValue,
        ])
    }

    /// `host:port` of the endpoint, as errors name it.
    package var host: String { hostOf(url: url) }

    /// libcurl's SigV4 provider string for this region.
    package var signingProvider: String { "aws:amz:\(region):s3" }

    // MARK: - Validation

    /// Checks what would otherwise fail later and less clearly: the URL's form, the bucket name,
    /// the region (it goes into the signing scope), and that both halves of the key pair are set.
    package func validate() throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else {
            throw ValidationError("s3 endpoint '\(Redactor.redactURL(url))' must be an http:// or https:// URL",
                                  hint: "for example http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com")
        }
        guard components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
              components.path.isEmpty || components.path == "/"
        else {
            throw ValidationError("s3 endpoint '\(Redactor.redactURL(url))' must be scheme://host[:port] only",
                                  hint: "the bucket and the key prefix are set apart; credentials never go in the URL")
        }
        guard Self.isValidBucketName(bucket) else {
            throw ValidationError(
                "s3 bucket '\(bucket)' is not a valid bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
        }
        if addressing == .virtualHost, bucket.contains(".") {
            throw ValidationError("s3 bucket '\(bucket)' contains dots, which break TLS with virtual-host-style addressing",
                                  hint: "use path-style addressing for this bucket")
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ Self.isUnreserved($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") }) else {
            throw ValidationError("s3 region '\(region)' must be letters, digits, '-' and '_' (e.g. us-east-1)")
        }
        guard !accessKeyID.isEmpty, !accessKeyID.contains(":"), !accessKeyID.contains(where: \.isWhitespace) else {
            throw ValidationError("s3 access key id must be set, without spaces or ':'")
        }
        guard !secretAccessKey.isEmpty else {
            throw ValidationError("s3 secret access key is empty" + (secretSource.map { " (\($0))" } ?? ""))
        }
        if prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast().contains(where: { $0 == "." || $0 == ".." || $0.isEmpty }) {
            throw ValidationError("s3 key prefix '\(prefix)' has an empty, '.' or '..' segment")
        }
    }

    /// S3's rules for new buckets (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
    /// less the ones no one trips over by accident.
    package static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard alphanumeric(bytes[0]), alphanumeric(bytes[bytes.count - 1]) else { return false }
        guard bytes.allSatisfy({ alphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else { return false }
        return !name.contains("..")
    }

    // MARK: - URLs (pure, for plans, --dry-run and tests)

    /// The key as stored: the prefix and `key`.
    package func fullKey(_ key: String) -> String { prefix + key }

    /// The bucket's URL with a canonical query (see `canonicalQuery`).
    package func bucketURL(query: [(String, String)] = []) -> String {
        base(path: "") + Self.querySuffix(query)
    }

    /// The URL of the object stored under `fullKey` (prefix included), with a canonical query.
    package func objectURL(fullKey: String, query: [(String, String)] = []) -> String {
        base(path: "/" + Self.encodePath(fullKey)) + Self.querySuffix(query)
    }

    private func base(path: String) -> String {
        switch addressing {
        case .path:
            return url + "/" + bucket + path
        case .virtualHost:
            guard var components = URLComponents(string: url), let host = components.host else {
                return url + "/" + bucket + path
            }
            components.host = bucket + "." + host
            return (components.string ?? url) + (path.isEmpty ? "/" : path)
        }
    }

    /// `?a=1&b=` or nothing.
    private static func querySuffix(_ query: [(String, String)]) -> String {
        query.isEmpty ? "" : "?" + canonicalQuery(query)
    }

    /// The query exactly as SigV4 canonicalises it: each name and value percent-encoded but for
    /// RFC 3986's unreserved characters, sorted by name (then value), `name=` for an empty value.
    ///
    /// Sent in that form because libcurl 7.88 signs the query as it appears in the URL (sorting
    /// came in curl 8.x, https://github.com/curl/curl/issues/9717): any other order or encoding
    /// gives a signature that S3 computes differently and answers with SignatureDoesNotMatch.
    package static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { name, value in
            (encode(name, keepSlash: false), encode(value, keepSlash: false))
        }
        // Byte order, as SigV4 specifies (the encoded text is ASCII).
        let sorted = encoded.sorted { lhs, rhs in
            lhs.name == rhs.name
                ? lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
                : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// A key as an S3 URL path: every byte percent-encoded but the unreserved characters and `/`.
    /// This is also the canonical URI SigV4 signs (S3 encodes once, unlike other services).
    package static func encodePath(_ key: String) -> String { encode(key, keepSlash: true) }

    private static func encode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3986's unreserved set: `A-Z a-z 0-9 - . _ ~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// `luminate/prod` and `/luminate/prod/` both become `luminate/prod/`: a prefix names a folder.
    private static func normalizePrefix(_ prefix: String) -> String {
        var trimmed = Substring(prefix)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        guard !trimmed.isEmpty else { return "" }
        return trimmed.hasSuffix("/") ? String(trimmed) : trimmed + "/"
    }
}
