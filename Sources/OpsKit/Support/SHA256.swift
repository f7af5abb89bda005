import CCrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto.
package enum SHA256 {
    /// The lowercase hex digest of `data`.
    package static func hex(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBytes { buffer in
            _ = CCrypto.SHA256(buffer.bindMemory(to: UInt8.self).baseAddress, buffer.count, &digest)
        }
        return hexString(digest)
    }

    package static func hex(_ text: String) -> String { hex(Data(text.utf8)) }

    fileprivate static func hexString(_ digest: [UInt8]) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

/// SHA-256 of a stream fed piece by piece (a file being uploaded, an object being downloaded),
/// through libcrypto's EVP interface (the low-level SHA256_Init family is deprecated in OpenSSL 3).
package final class SHA256Stream {
    private let context: OpaquePointer
    package private(set) var byteCount: UInt64 = 0

    package init() {
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    package func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
        byteCount += UInt64(bytes.count)
    }

    package func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The lowercase hex digest of everything fed so far; the stream cannot be fed afterwards.
    package func finish() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return SHA256.hexString(Array(digest.prefix(Int(length))))
    }
}
