import Foundation

/// One object of a listing. `key` is relative to the endpoint's key prefix.
package struct S3Object: Sendable, Equatable {
    package var key: String
    package var size: Int64
    /// Without the quotes S3 puts around it. For a single PUT it is the MD5 of the bytes; for a
    /// multipart upload `md5-of-part-md5s-N`.
    package var etag: String
    package var lastModified: Date?

    package init(key: String, size: Int64, etag: String, lastModified: Date?) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// One page of ListObjectsV2.
package struct S3ListPage: Sendable, Equatable {
    package var objects: [S3Object]
    /// With a delimiter: the "folders" one level down, relative to the key prefix, ending in it.
    package var commonPrefixes: [String]
    package var isTruncated: Bool
    package var nextContinuationToken: String?
}

/// A whole listing, every page followed.
package struct S3Listing: Sendable, Equatable {
    package var objects: [S3Object]
    package var commonPrefixes: [String]
    /// How many requests it took.
    package var pages: Int
}

/// What HEAD tells about an object.
package struct S3ObjectInfo: Sendable, Equatable {
    package var key: String
    package var size: Int64
    package var etag: String
    package var lastModified: Date?
    package var contentType: String?
}

/// An object written: what a backup manifest records about it.
package struct S3Upload: Sendable, Equatable {
    package var key: String
    package var size: Int64
    /// Of the bytes sent, computed while reading them; S3 checked every byte against it.
    package var sha256: String
    package var etag: String
    /// 1 for a single PUT.
    package var parts: Int
}

/// An object read.
package struct S3Download: Sendable, Equatable {
    package var key: String
    package var size: Int64
    /// Of the bytes received, computed while they arrived.
    package var sha256: String
    package var etag: String?
}

/// A part uploaded, as CompleteMultipartUpload lists it.
package struct S3CompletedPart: Sendable, Equatable {
    package var partNumber: Int
    package var etag: String
}

/// A multipart upload that was started and neither completed nor aborted.
package struct S3MultipartUploadInfo: Sendable, Equatable {
    /// Relative to the key prefix.
    package var key: String
    package var uploadID: String
    package var initiated: Date?
}

// MARK: - Reading the documents

/// S3's answers, from XML. Every reader takes the key prefix to strip, so callers only ever see
/// keys relative to it.
enum S3Documents {
    static func listPage(_ root: XMLTree, keyPrefix: String) throws -> S3ListPage {
        guard root.name == "ListBucketResult" else { throw unexpectedRoot(root, "ListBucketResult") }
        let dates = DateParser()
        var objects: [S3Object] = []
        for entry in root.children("Contents") {
            guard let key = entry.text(of: "Key") else { throw XMLError.malformed(detail: "a Contents entry without a Key") }
            guard let size = entry.text(of: "Size").flatMap({ Int64($0) }) else {
                throw XMLError.malformed(detail: "no Size for \(key)")
            }
            objects.append(S3Object(
                key: relative(key, keyPrefix), size: size, etag: unquote(entry.text(of: "ETag") ?? ""),
                lastModified: entry.text(of: "LastModified").flatMap(dates.iso8601)))
        }
        let truncated = root.text(of: "IsTruncated")?.lowercased() == "true"
        return S3ListPage(
            objects: objects,
            commonPrefixes: root.children("CommonPrefixes").compactMap { $0.text(of: "Prefix") }.map { relative($0, keyPrefix) },
            isTruncated: truncated,
            nextContinuationToken: root.text(of: "NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 })
    }

    static func uploadID(_ root: XMLTree) throws -> String {
        guard root.name == "InitiateMultipartUploadResult" else { throw unexpectedRoot(root, "InitiateMultipartUploadResult") }
        guard let id = root.text(of: "UploadId"), !id.isEmpty else { throw XMLError.malformed(detail: "no UploadId") }
        return id
    }

    static func completedETag(_ root: XMLTree) throws -> String {
        guard root.name == "CompleteMultipartUploadResult" else { throw unexpectedRoot(root, "CompleteMultipartUploadResult") }
        return unquote(root.text(of: "ETag") ?? "")
    }

    /// A page of ListMultipartUploads and the markers of the next one (nil when it is the last).
    static func multipartUploads(
        _ root: XMLTree, keyPrefix: String
    ) throws -> (uploads: [S3MultipartUploadInfo], next: (key: String, uploadID: String)?) {
        guard root.name == "ListMultipartUploadsResult" else { throw unexpectedRoot(root, "ListMultipartUploadsResult") }
        let dates = DateParser()
        let uploads = root.children("Upload").compactMap { upload -> S3MultipartUploadInfo? in
            guard let key = upload.text(of: "Key"), let id = upload.text(of: "UploadId") else { return nil }
            return S3MultipartUploadInfo(
                key: relative(key, keyPrefix), uploadID: id, initiated: upload.text(of: "Initiated").flatMap(dates.iso8601))
        }
        guard root.text(of: "IsTruncated")?.lowercased() == "true" else { return (uploads, nil) }
        guard let key = root.text(of: "NextKeyMarker"), !key.isEmpty else {
            throw XMLError.malformed(detail: "a truncated list of uploads without NextKeyMarker")
        }
        return (uploads, (key, root.text(of: "NextUploadIdMarker") ?? ""))
    }

    /// The body of CompleteMultipartUpload.
    static func completeRequest(_ parts: [S3CompletedPart]) -> Data {
        var xml = #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
        for part in parts {
            xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\(escape("\"\(part.etag)\""))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Data(xml.utf8)
    }

    /// `"abc"` → `abc`: S3 quotes ETags in headers and documents alike.
    static func unquote(_ etag: String) -> String {
        let trimmed = etag.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 2, trimmed.hasPrefix("\""), trimmed.hasSuffix("\"") else { return trimmed }
        return String(trimmed.dropFirst().dropLast())
    }

    private static func relative(_ key: String, _ prefix: String) -> String {
        key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func unexpectedRoot(_ root: XMLTree, _ expected: String) -> XMLError {
        .malformed(detail: "expected <\(expected)>, got <\(root.name)>")
    }
}

/// The two date forms S3 uses: ISO 8601 in documents (`2026-12-02T03:01:38.000Z`) and HTTP dates
/// in headers (`Wed, 02 Dec 2026 03:01:38 GMT`). One per document: formatters are not Sendable.
final class DateParser {
    private let fractional: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
    private let whole = ISO8601DateFormatter()
    private let http: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter
    }()

    func iso8601(_ text: String) -> Date? {
        fractional.date(from: text) ?? whole.date(from: text)
    }

    func httpDate(_ text: String) -> Date? {
        http.date(from: text)
    }
}
