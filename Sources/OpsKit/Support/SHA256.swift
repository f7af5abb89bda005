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
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    package static func hex(_ text: String) -> String { hex(Data(text.utf8)) }
}
