/// Where core logic and the roles get the time: the system clock in production, a manual one
/// in tests. (The standard library has no wall clock, so the system clock lives with the roles.)
public protocol IngestClock: Sendable {
    /// The current wall-clock time.
    func now() -> Timestamp
}
