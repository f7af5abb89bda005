import Foundation

/// A backup store in an S3 bucket under the endpoint's prefix. Keys are relative to the prefix.
/// An S3 PUT is atomic (a reader sees the old object, or nothing, or all of the new one), so
/// small objects (the manifest) are written with one PUT; big files stream from disk, in parts
/// above the client's multipart threshold, hashed while read.
package struct S3BackupStore: BackupStore {
    package let client: S3Client

    package init(client: S3Client) { self.client = client }

    package var location: String { "s3://\(client.endpoint.bucket)/\(client.endpoint.prefix)" }

    package func list(prefix: String, delimiter: String?) throws -> StoreListing {
        let listing = try client.list(prefix: prefix, delimiter: delimiter)
        return StoreListing(objects: listing.objects.map { StoredObject(key: $0.key, size: UInt64(max(0, $0.size))) },
                            folders: listing.commonPrefixes)
    }

    package func stat(_ key: String) throws -> StoredObject? {
        try client.head(key).map { StoredObject(key: key, size: UInt64(max(0, $0.size))) }
    }

    package func read(_ key: String) throws -> Data? {
        do {
            return try client.get(key)
        } catch S3Error.noSuchKey {
            return nil
        }
    }

    package func write(_ key: String, data: Data) throws {
        _ = try client.put(key, data: data, contentType: key.hasSuffix(".json") ? "application/json" : "application/octet-stream")
    }

    package func upload(_ key: String, fromFile path: String) throws -> StoredFile {
        let upload = try client.upload(key, fromFile: path)
        return StoredFile(size: UInt64(max(0, upload.size)), sha256: upload.sha256)
    }

    package func download(_ key: String, toFile path: String) throws -> StoredFile {
        let download = try client.download(key, toFile: path)
        return StoredFile(size: UInt64(max(0, download.size)), sha256: download.sha256)
    }

    package func checksum(_ key: String) throws -> StoredFile {
        let download = try client.get(key) { _ in }
        return StoredFile(size: UInt64(max(0, download.size)), sha256: download.sha256)
    }

    package func delete(_ key: String) throws {
        try client.delete(key)
    }
}
