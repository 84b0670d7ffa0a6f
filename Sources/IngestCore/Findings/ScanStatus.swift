/// Where a scan is in its life, as the console and sensors name the states.
///
/// ## Overview
/// `QUEUED` when an operator queues the scan (its start command waits for the node's poll),
/// `STARTING` once the command is handed to the sensor, then what the sensor reports on its
/// status route: `IN_PROGRESS`, and finally `COMPLETE`, `ERROR` or `CANCELLED` (cancellation
/// passes through `CANCEL_PENDING` and `CANCELLING`). A scan that stops making progress for the
/// stall timeout (`--scan-stall-timeout`) is ended as `ERROR` by its owner, so it no longer
/// holds the node's slot for that kind of scan.
///
/// The terminal states are final: a status arriving after one is recorded as the scan's last
/// message but does not reopen it (a stalled scan that the sensor later finishes stays failed;
/// its late findings are still stored).
public enum ScanStatus: String, Sendable, Hashable, CaseIterable {
    case queued = "QUEUED"
    case starting = "STARTING"
    case inProgress = "IN_PROGRESS"
    case cancelPending = "CANCEL_PENDING"
    case cancelling = "CANCELLING"
    case complete = "COMPLETE"
    case error = "ERROR"
    case cancelled = "CANCELLED"

    /// Whether the scan has ended.
    public var isTerminal: Bool { self == .complete || self == .error || self == .cancelled }

    /// The states a sensor may report (the console sets `QUEUED` and `STARTING` itself, but a
    /// sensor reporting `STARTING` is accepted too).
    public static let reportable: [ScanStatus] = [.starting, .inProgress, .cancelPending, .cancelling, .complete, .error, .cancelled]

    /// A status as a sensor sent it (case and `-`/space insensitive; `FAILED` is ThreatMapper's
    /// older name for `ERROR`), if it is one.
    public init?(reported text: String) {
        let normalized = String(text.uppercased().map { $0 == "-" || $0 == " " ? "_" : $0 })
        if normalized == "FAILED" || normalized == "FAILURE" {
            self = .error
        } else if let status = ScanStatus(rawValue: normalized), Self.reportable.contains(status) {
            self = status
        } else {
            return nil
        }
    }

    /// The status a scan ends up in after `updates` (in the order they arrived) starting from
    /// `current` (nil: not stored yet): terminal states are final.
    public static func fold(_ current: ScanStatus?, _ updates: [ScanStatus]) -> ScanStatus? {
        var status = current
        for update in updates {
            if status?.isTerminal == true { break }
            status = update
        }
        return status
    }

    /// The SQL list of terminal states, for queries.
    public static let terminalSQL = "('COMPLETE','ERROR','CANCELLED')"
}
