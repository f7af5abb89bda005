import Foundation
import Synchronization

/// Removes secrets from any text luminatectl prints, logs or journals: URL userinfo,
/// `password=`/`token=` values, `X-ClickHouse-Key` and `Authorization` header values, and every
/// secret value loaded at run time (registered here when it is read from its source).
package enum Redactor {
    package static let mask = "<redacted>"

    private static let known = Mutex<Set<String>>([])

    /// Registers a secret value so that it is scrubbed from all later output, wherever it appears.
    package static func register(secret: String) {
        // Very short values would scrub innocent text; such passwords are refused elsewhere anyway.
        guard secret.count >= 4 else { return }
        known.withLock { _ = $0.insert(secret) }
    }

    package static func redact(_ text: String) -> String {
        var result = text
        for secret in known.withLock({ $0 }) where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: mask)
        }
        for rule in rules {
            result = rule.apply(to: result)
        }
        return result
    }

    /// Redacts a URL: userinfo and secret-looking query parameters.
    package static func redactURL(_ url: String) -> String { redact(url) }

    private struct Rule {
        let regex: NSRegularExpression
        let template: String
        func apply(to text: String) -> String {
            regex.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
    }

    private static let rules: [Rule] = [
        // scheme://user:password@host
        Rule(regex: try! NSRegularExpression(pattern: "([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\\s:]+:[^/@\\s]*@"),
             template: "$1\(mask)@"),
        // password=..., token=..., key=... in query strings, forms and command lines
        Rule(regex: try! NSRegularExpression(
            pattern: "(?i)\\b((?:password|passwd|pwd|token|secret|api_key|apikey|access_key)=)[^&\\s\"']*"),
             template: "$1\(mask)"),
        // Header values, as logged or echoed by servers
        Rule(regex: try! NSRegularExpression(
            pattern: "(?i)\\b((?:x-clickhouse-key|authorization|proxy-authorization|x-api-key)\\s*:\\s*)[^\\r\\n]*"),
             template: "$1\(mask)"),
        // JSON fields named like secrets ("password": "..."); prose mentioning a password is left alone.
        Rule(regex: try! NSRegularExpression(
            pattern: "(?i)(\"(?:password|token|secret|jwt_secret|api_key)\"\\s*:\\s*)\"(?:[^\"\\\\]|\\\\.)*\""),
             template: "$1\"\(mask)\""),
    ]
}
