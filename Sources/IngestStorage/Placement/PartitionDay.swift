import Foundation

/// A UTC day, as the change log and metric samples are partitioned.
public struct PartitionDay: Sendable, Hashable, Comparable {
    /// Days since 1970-01-01.
    public let index: Int

    public init(_ date: Date) {
        index = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    init(index: Int) { self.index = index }

    /// The following day.
    public var next: PartitionDay { PartitionDay(index: index + 1) }

    /// `yyyyMMdd`, the partition name suffix.
    public var name: String { start.replacingOccurrences(of: "-", with: "") }

    /// `yyyy-MM-dd`.
    public var start: String {
        // Civil-from-days (Howard Hinnant's algorithm), exact for the proleptic Gregorian calendar.
        let z = index + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (lhs: PartitionDay, rhs: PartitionDay) -> Bool { lhs.index < rhs.index }
}
