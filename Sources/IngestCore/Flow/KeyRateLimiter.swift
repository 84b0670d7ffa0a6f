/// Token buckets, one per API key: each key may make `rate` requests per second on average and
/// `burst` at once (`--key-rate-limit`, `--key-rate-burst`). A key's bucket starts full and
/// refills continuously with the clock; a rate of 0 admits everything.
///
/// Buckets are kept per key ID, so their number is bounded by the keys in the catalog, not by
/// what clients send.
public struct KeyRateLimiter: Sendable {
    public let rate: Int
    public let burst: Int

    struct Bucket: Sendable {
        /// Requests that may be made now, in thousandths (integer arithmetic, no drift).
        var milliTokens: Int64
        var updated: Int64
    }

    var buckets: [Int64: Bucket] = [:]

    public init(rate: Int, burst: Int) {
        self.rate = max(rate, 0)
        self.burst = max(burst, rate, 1)
    }

    /// Takes one request from the key's bucket at `now`; false (and nothing taken) when the
    /// key has used its rate and burst.
    public mutating func admit(_ key: Int64, now: Timestamp) -> Bool {
        guard rate > 0 else { return true }
        let capacity = Int64(burst) * 1000
        var bucket = buckets[key] ?? Bucket(milliTokens: capacity, updated: now.milliseconds)
        let elapsed = now.milliseconds - bucket.updated
        if elapsed > 0 {
            // rate per second is rate thousandths of a token per millisecond.
            let (refill, overflow) = elapsed.multipliedReportingOverflow(by: Int64(rate))
            bucket.milliTokens = overflow ? capacity : min(capacity, bucket.milliTokens + refill)
            bucket.updated = now.milliseconds
        }
        let admitted = bucket.milliTokens >= 1000
        if admitted { bucket.milliTokens -= 1000 }
        buckets[key] = bucket
        return admitted
    }
}
