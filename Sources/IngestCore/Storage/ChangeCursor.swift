/// Where a page of a node's change log ends: the last change's time (microseconds since the Unix
/// epoch), kind and entity ID, the order the log is read in (newest first). As text it is
/// `<microseconds>~<kind>~<entity id>`: the first two hold no `~`, the ID may.
public struct ChangeCursor: Sendable, Hashable, CustomStringConvertible {
    public var microseconds: Int64
    public var kind: String
    public var entityID: String

    public init(microseconds: Int64, kind: String, entityID: String) {
        self.microseconds = microseconds
        self.kind = kind
        self.entityID = entityID
    }

    /// Parses the text form; nil when it is not of that form.
    public init?(_ text: String) {
        let parts = text.split(separator: "~", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let microseconds = Int64(parts[0]), !parts[1].isEmpty, !parts[1].contains("\0"),
            !parts[2].contains("\0")
        else { return nil }
        self.init(microseconds: microseconds, kind: String(parts[1]), entityID: String(parts[2]))
    }

    public var description: String { "\(microseconds)~\(kind)~\(entityID)" }
}
