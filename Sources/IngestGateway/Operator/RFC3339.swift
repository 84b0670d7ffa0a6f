import Foundation

/// Times as the operator API and the web console read and write them (RFC 3339, UTC).
public enum RFC3339 {
    static let plain = Date.ISO8601FormatStyle()
    static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `2026-12-06T15:00:00Z`, with or without fractional seconds, or an offset for the zone; nil otherwise.
    public static func parse(_ text: String) -> Date? {
        (try? plain.parse(text)) ?? (try? fractional.parse(text))
    }

    /// The instant in UTC to the millisecond: `2026-12-06T15:00:00.123Z`.
    public static func format(_ date: Date) -> String { fractional.format(date) }
}
