import IngestCore

/// The gateway's limits. Every field is a command-line flag.
public struct GatewayConfiguration: Sendable {
    /// Largest request body on the wire, compressed (`--max-body-bytes`, default 8 MiB).
    public var maxBodyBytes: Int = 8 << 20
    /// Largest report after gunzip (`--max-report-bytes`, default 64 MiB). A decompression bomb
    /// stops here.
    public var maxReportBytes: Int = 64 << 20
    /// Largest body of the JSON routes: login, controls, operator API (`--max-request-bytes`, default 64 KiB).
    public var maxRequestBytes: Int = 64 << 10
    /// What one report may contain (`--max-report-entities`, default 250,000).
    public var parserLimits = ReportParser.Limits()
    /// Largest page of `GET /api/v1/nodes` (default 1000).
    public var maxPageSize: Int = 1000
    /// How long a request may wait for its owner, retries on a fresh map included, before it
    /// gets 503 (`--forward-timeout`, default 5 s).
    public var forwardTimeout: Duration = .seconds(5)

    public init() {}

    /// Checks the settings; returns a message naming the bad setting.
    public func validate() -> String? {
        if maxBodyBytes < 1024 { return "--max-body-bytes must be at least 1024" }
        if maxReportBytes < maxBodyBytes { return "--max-report-bytes must be at least --max-body-bytes" }
        if maxRequestBytes < 1024 { return "--max-request-bytes must be at least 1024" }
        if parserLimits.maxEntities < 1 { return "--max-report-entities must be at least 1" }
        if forwardTimeout < .milliseconds(100) { return "--forward-timeout must be at least 100ms" }
        return nil
    }
}
