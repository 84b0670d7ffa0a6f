import Foundation
import IngestCore

/// The gateway's limits. Every field is a command-line flag.
public struct GatewayConfiguration: Sendable {
    /// Largest request body on the wire, compressed (`--max-body-bytes`, default 8 MiB).
    public var maxBodyBytes: Int = 8 << 20
    /// Largest report after gunzip (`--max-report-bytes`, default 64 MiB). A decompression bomb
    /// stops here.
    public var maxReportBytes: Int = 64 << 20
    /// Most a gzip body may inflate, times its compressed size (`--max-compression-ratio`,
    /// default 200; ThreatMapper reports inflate about 11 times; 0: no bound).
    public var maxCompressionRatio: Int = 200
    /// Largest body of the JSON routes: login, controls, operator API (`--max-request-bytes`, default 64 KiB).
    public var maxRequestBytes: Int = 64 << 10
    /// What one report may contain: entities (`--max-report-entities`, default 250,000), JSON
    /// nesting (`--max-json-depth`, default 64) and string length (`--max-json-string-bytes`,
    /// default 1 MiB).
    public var parserLimits = ReportParser.Limits()
    /// Requests per second one API key's tokens may make on this gateway, logins included
    /// (`--key-rate-limit`, default 10,000; 0: no limit), with bursts up to `keyRateBurst`
    /// (`--key-rate-burst`, default twice the rate). ThreatMapper sensors of one deployment share a key.
    public var keyRateLimit: Int = 10_000
    public var keyRateBurst: Int = 20_000
    /// Most records one findings, scan status or cloud resource request may hold
    /// (`--max-findings-per-request`, default 10,000; upstream shippers send at most 100).
    public var maxFindingsPerRequest: Int = 10_000
    /// Largest SBOM upload on the wire (`--max-sbom-bytes`, default 512 MiB: upstream allows
    /// 500 MB). Uploads are written to `uploadDirectory` as they arrive, never held in memory.
    public var maxSBOMBytes: Int = 512 << 20
    /// Where uploads are written while they arrive and are checked (`--upload-dir`, default the
    /// system's temporary directory; all-in-one: `<data-dir>/uploads`).
    public var uploadDirectory: String = FileManager.default.temporaryDirectory.path
    /// How long an upload may take to arrive (`--upload-timeout`, default 30 minutes), instead
    /// of `--request-timeout`.
    public var uploadTimeout: Duration = .seconds(1800)
    /// Uploads checked and stored at once per gateway (`--max-concurrent-uploads`, default 4);
    /// more wait their turn.
    public var maxConcurrentUploads: Int = 4
    /// Disk all uploads on this gateway may hold at once, each counted as itself and its decoded
    /// SBOM (``SpoolBudget``); an upload that does not fit is refused from its request head with
    /// 503 and `Retry-After` (`--max-spool-bytes`, default 2 GiB: two of the largest uploads).
    public var maxSpoolBytes: Int = 2 << 30
    /// Largest page of the operator API's lists, and the rows a findings export reads per query
    /// (`--max-page-size`, default 1000).
    public var maxPageSize: Int = 1000
    /// How long a request may wait for its owner, retries on a fresh map included, before it
    /// gets 503 (`--forward-timeout`, default 5 s).
    public var forwardTimeout: Duration = .seconds(5)
    /// How long the cluster's beat (``ClusterBeat``) read back with a heartbeat holds without a
    /// coordinator leader keeping it: older, the gateway stops stretching the beat (three times
    /// `--member-timeout`, default 30 s: a new leader has taken over well before).
    public var clusterBeatTimeout: Duration = .seconds(30)

    public init() {}

    /// What one findings request may hold.
    public var findingsLimits: FindingsRequest.Limits {
        FindingsRequest.Limits(maxRecords: maxFindingsPerRequest, maxDepth: parserLimits.maxDepth)
    }

    /// Every problem with these settings, naming the options (empty: valid).
    public func problems() -> [String] {
        var problems: [String] = []
        if maxBodyBytes < 1024 { problems.append("--max-body-bytes must be at least 1024") }
        if maxReportBytes < maxBodyBytes { problems.append("--max-report-bytes must be at least --max-body-bytes") }
        if maxRequestBytes < 1024 { problems.append("--max-request-bytes must be at least 1024") }
        if maxCompressionRatio < 0 { problems.append("--max-compression-ratio must be 0 (no bound) or more") }
        if maxCompressionRatio > 0 && maxCompressionRatio < 10 { problems.append("--max-compression-ratio must be at least 10 (reports inflate about 11 times)") }
        if parserLimits.maxEntities < 1 { problems.append("--max-report-entities must be at least 1") }
        if !(8...1024).contains(parserLimits.maxDepth) { problems.append("--max-json-depth must be 8 to 1024") }
        if parserLimits.maxStringBytes < 1024 { problems.append("--max-json-string-bytes must be at least 1024") }
        if keyRateLimit < 0 { problems.append("--key-rate-limit must be 0 (no limit) or more") }
        if keyRateLimit > 0 && keyRateBurst < keyRateLimit { problems.append("--key-rate-burst must be at least --key-rate-limit") }
        if maxFindingsPerRequest < 1 { problems.append("--max-findings-per-request must be at least 1") }
        if maxPageSize < 1 { problems.append("--max-page-size must be at least 1") }
        if maxSBOMBytes < 1024 { problems.append("--max-sbom-bytes must be at least 1024") }
        if maxConcurrentUploads < 1 { problems.append("--max-concurrent-uploads must be at least 1") }
        if maxSpoolBytes < SpoolBudget.bytes(forUpload: maxSBOMBytes) {
            problems.append("--max-spool-bytes must hold one upload of --max-sbom-bytes and its decoded SBOM: at least \(SpoolBudget.bytes(forUpload: maxSBOMBytes))")
        }
        if uploadTimeout < .seconds(1) { problems.append("--upload-timeout must be at least 1s") }
        if forwardTimeout < .milliseconds(100) { problems.append("--forward-timeout must be at least 100ms") }
        return problems
    }
}
