import Foundation

/// Redaction of structured values before they are written: every string (and key) through
/// `Redactor.redact`, and the value of any key named like a secret masked whole. Redacting the
/// rendered line instead would not do: a header rule that runs to the end of the line would eat
/// the rest of the JSON.
package enum JournalRedaction {
    /// Keys whose values are secrets whatever they hold (the `Redactor`'s JSON rule, for values
    /// that are not strings too).
    package static let secretKeys: Set<String> = [
        "password", "passwd", "pwd", "token", "secret", "jwt_secret", "api_key", "apikey", "access_key", "authorization",
    ]

    package static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(Redactor.redact(text))
        case .array(let items): .array(items.map(redact))
        case .object(let entries):
            .object(entries.map { key, item in
                secretKeys.contains(key.lowercased()) && !item.isNull
                    ? (Redactor.redact(key), .string(Redactor.mask))
                    : (Redactor.redact(key), redact(item))
            })
        default: value
        }
    }
}
