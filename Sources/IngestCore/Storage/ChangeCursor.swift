/// Where a page of a node's change log ends: the last change's time (microseconds since the Unix
/// epoch), kind, change and entity ID, the order the log is read in (newest first). As text it is
/// `<microseconds>~<kind>~<change>~<entity id>`: the first three hold no `~`, the ID may.
public struct ChangeCursor: Sendable, Hashable, CustomStringConvertible {
    public var microseconds: Int64
    public var kind: String
    public var change: String
    public var entityID: String

    public init(microseconds: Int64, kind: String, change: String, entityID: String) {
        self.microseconds = microseconds
        self.kind = kind
        self.change = change
        self.entityID = entityID
    }

    /// Parses the text form; nil when it is not of that form (or names a time past year 9999).
    public init?(_ text: String) {
        let parts = text.split(separator: "~", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let microseconds = Int64(parts[0]), (0...253_402_300_799_000_000).contains(microseconds),
            !parts[1].isEmpty, !parts[2].isEmpty, !text.contains("\0")
        else { return nil }
        self.init(microseconds: microseconds, kind: String(parts[1]), change: String(parts[2]), entityID: String(parts[3]))
    }

    public var description: String { "\(microseconds)~\(kind)~\(change)~\(entityID)" }
}
