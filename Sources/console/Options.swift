import ArgumentParser

/// Where the database is: a URL, or the embedded server in the data directory.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Data directory: the embedded PostgreSQL, the TLS certificate and the first keys (default ./.console).")
    var dataDir: String?

    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL (postgres://user:password@host:port/db?sslmode=…). Without it, the embedded PostgreSQL in the data directory is used.")
    var databaseURL: String?

    @Option(help: "A file holding the database password, for a --database-url (and placement URLs) without one: the URL can then sit in plain configuration and the password in a mounted Secret (a trailing newline is dropped).")
    var databasePasswordFile: String?

    @Option(help: "The PostgreSQL bin directory for the embedded server (default: the newest /usr/lib/postgresql/*/bin).")
    var postgresBin: String?

    @Option(help: "Server settings of the embedded PostgreSQL that replace or add to the console's (max_wal_size=8GB,checkpoint_timeout=15min,wal_compression=lz4,shared_buffers=256MB,max_connections=200), e.g. max_wal_size=4GB,work_mem=8MB.")
    var postgresSettings: String?

    @Option(help: "A JSON file of settings, keyed by option name in camelCase ({\"beatRate\": \"60\"}); also CONSOLE_CONFIG.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (default info).")
    var logLevel: String?

    var flags: [String: String?] {
        ["dataDir": dataDir, "databaseURL": databaseURL, "databasePasswordFile": databasePasswordFile, "postgresBin": postgresBin, "postgresSettings": postgresSettings,
         "logLevel": logLevel]
    }
}

/// The public listener: TLS + HTTP/2 for sensors and operators (all-in-one and gateway).
struct ListenerOptions: ParsableArguments {
    @Option(help: "Address to listen on (default 0.0.0.0).") var host: String?
    @Option(help: "TLS port for sensors and operators (default 443).") var port: String?
    @Option(help: "Host name or address sensors use to reach the console, printed as MGMT_CONSOLE_URL (default: this machine's host name).")
    var advertiseHost: String?
    @Option(help: "Port sensors use to reach the console, printed as MGMT_CONSOLE_PORT (default: the listening port; set it where a container's --port is published as another, 443 for 8443).")
    var advertisePort: String?
    @Option(help: "PEM certificate chain (default: a self-signed certificate made on first start).") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "Concurrent HTTP/2 streams per connection (default 100).")
    var maxConcurrentStreams: String?
    @Option(help: "Close connections idle this long (default 5m).") var idleTimeout: String?
    @Option(help: "Reload --tls-cert/--tls-key (or the data directory's certificate) when the files change, checked this often; new connections get the new certificate (default 30s; 0: never).")
    var tlsReloadInterval: String?
    @Option(help: "Close a connection whose TLS handshake has not finished after this long (default 10s).") var tlsHandshakeTimeout: String?
    @Option(help: "Close a connection whose request has not arrived whole this long after it began (slowloris), or that could not send its answers for this long because its client stopped reading them (default 60s; 0: off).")
    var requestTimeout: String?
    @Option(help: "Largest request header block, HTTP/2 and HTTP/1.1 (default 16KiB).") var maxHeaderBytes: String?
    @Option(help: "Open connections one client IP address may hold; more are closed at once (default 1000; 0: no limit; behind a NAT or a proxy many sensors share one).")
    var maxConnectionsPerAddress: String?
    @Option(name: .customLong("http2-reset-limit"),
            help: "RST_STREAM frames a client may send per 30 seconds before its connection is closed: rapid reset, CVE-2023-44487 (default 200).")
    var http2ResetLimit: String?
    @Option(name: .customLong("http2-control-frame-limit"),
            help: "PING, SETTINGS and PRIORITY frames a client may send per 30 seconds before its connection is closed; also the empty DATA frames (no payload, no END_STREAM) a connection may send (default 200).")
    var http2ControlFrameLimit: String?
    @Option(name: .customLong("http2-max-continuation-frames"),
            help: "CONTINUATION frames one HTTP/2 header block may span before the connection is closed (default 5).")
    var http2MaxContinuationFrames: String?
    @Option(name: .customLong("http2-mode"),
            help: "How HTTP/2 streams are served: frames (from the connection's frames, no channel per stream) or multiplexed (NIO's child channel per stream) (default frames).")
    var http2Mode: String?

    var flags: [String: String?] {
        ["host": host, "port": port, "advertiseHost": advertiseHost, "advertisePort": advertisePort, "tlsCert": tlsCert, "tlsKey": tlsKey,
         "maxConcurrentStreams": maxConcurrentStreams, "idleTimeout": idleTimeout, "http2Mode": http2Mode,
         "tlsReloadInterval": tlsReloadInterval, "tlsHandshakeTimeout": tlsHandshakeTimeout, "requestTimeout": requestTimeout,
         "maxHeaderBytes": maxHeaderBytes, "maxConnectionsPerAddress": maxConnectionsPerAddress, "http2ResetLimit": http2ResetLimit,
         "http2ControlFrameLimit": http2ControlFrameLimit, "http2MaxContinuationFrames": http2MaxContinuationFrames]
    }
}

/// The internal listener of the Prometheus metrics and the health checks.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics at http://<address>/metrics and the health checks /healthz and /readyz, plain HTTP (for example 127.0.0.1:9464; default: off for all-in-one, 0.0.0.0:9464 for the cluster roles).")
    var metricsAddress: String?

    var flags: [String: String?] { ["metricsAddress": metricsAddress] }
}

/// Limits on a report, checked where it is decoded: all-in-one, the gateway, and the worker
/// behind it.
struct ReportLimitOptions: ParsableArguments {
    @Option(help: "Largest request body of the ingest routes, compressed (default 8MiB).") var maxBodyBytes: String?
    @Option(help: "Largest report after gunzip; a decompression bomb stops here (default 64MiB).") var maxReportBytes: String?
    @Option(help: "Most entities one report may carry (default 250000).") var maxReportEntities: String?
    @Option(help: "Most a gzip body may inflate, times its compressed size; ThreatMapper reports inflate about 11 times (default 200; 0: no bound).")
    var maxCompressionRatio: String?
    @Option(help: "Deepest nesting of objects and arrays in a report (default 64).") var maxJsonDepth: String?
    @Option(help: "Longest string in a report, member names included (default 1MiB).") var maxJsonStringBytes: String?

    var flags: [String: String?] {
        ["maxBodyBytes": maxBodyBytes, "maxReportBytes": maxReportBytes, "maxReportEntities": maxReportEntities,
         "maxCompressionRatio": maxCompressionRatio, "maxJsonDepth": maxJsonDepth, "maxJsonStringBytes": maxJsonStringBytes]
    }
}

/// Limits on what a sensor or an operator may send to the public port (all-in-one and gateway).
struct LimitOptions: ParsableArguments {
    @OptionGroup var report: ReportLimitOptions
    @Option(help: "Largest body of the JSON routes: login, controls, operator API (default 64KiB).") var maxRequestBytes: String?
    @Option(help: "Requests per second the tokens of one API key may make on this gateway, logins and refreshes included; more get 429 (default 10000; 0: no limit). The sensors of a deployment usually share one key.")
    var keyRateLimit: String?
    @Option(help: "Requests one API key may make at once beyond its rate (default twice --key-rate-limit).") var keyRateBurst: String?
    @Option(help: "Most records one findings, scan status or cloud resource request may hold (default 10000; upstream shippers send at most 100).")
    var maxFindingsPerRequest: String?
    @Option(help: "Largest SBOM upload (POST /deepfence/ingest/sbom), written to --upload-dir as it arrives (default 512MiB).")
    var maxSbomBytes: String?
    @Option(help: "Where uploads are written while they arrive and are checked (default: the system's temporary directory; all-in-one: <data-dir>/uploads).")
    var uploadDir: String?
    @Option(help: "How long an upload may take to arrive, instead of --request-timeout (default 30m).") var uploadTimeout: String?
    @Option(help: "SBOM uploads decoded and stored at once by one gateway; more wait their turn (default 4).") var maxConcurrentUploads: String?
    @Option(help: "Disk the uploads on one gateway may hold at once, each counted as its size (or --max-sbom-bytes when it announces none) plus its decoded SBOM, three quarters of that; an upload that does not fit gets 503 with Retry-After before a byte is written (default 2GiB; at least 1.75 × --max-sbom-bytes).")
    var maxSpoolBytes: String?
    @Option(help: "Largest page of the operator API's lists (limit=), and the rows a findings export reads per query and writes per chunk (default 1000).")
    var maxPageSize: String?

    var flags: [String: String?] {
        report.flags.merging([
            "maxRequestBytes": maxRequestBytes, "keyRateLimit": keyRateLimit, "keyRateBurst": keyRateBurst,
            "maxFindingsPerRequest": maxFindingsPerRequest, "maxSbomBytes": maxSbomBytes, "uploadDir": uploadDir,
            "uploadTimeout": uploadTimeout, "maxConcurrentUploads": maxConcurrentUploads, "maxSpoolBytes": maxSpoolBytes,
            "maxPageSize": maxPageSize,
        ]) { $1 }
    }
}

/// Flow control, liveness and what is written (all-in-one and worker).
struct WorkOptions: ParsableArguments {
    @OptionGroup var beat: BeatOptions
    @Option(help: "Seconds either way a beat may move for sensors acknowledged in one large batch, so they stop reporting in step, at --beat-rate; a longer beat moves in proportion, at most a tenth of it (default 3; 0: off).") var beatSpread: String?
    @Option(help: "Batch size from which acknowledged sensors get a spread beat (default 8).") var beatSpreadBatch: String?
    @Option(help: "Reports accepted but not committed beyond which sensors get 503 (default 2000).") var maxPendingReports: String?
    @Option(help: "Missed beats before a node is offline (default 3).") var offlineAfterBeats: String?
    @Option(help: "How long an offline node is kept (default 7d).") var nodeRetention: String?
    @Option(help: "How often volatile metrics are sampled per node (default 60s).") var metricSampleInterval: String?
    @Option(help: "How long the change log and metric samples are kept (default 7d).") var changeLogRetention: String?
    @Option(help: "How long scans and their findings are kept, by the day the scan was created (default 90d).") var scanRetention: String?
    @Option(help: "A scan handed to its sensor that reports no status and no findings for this long is ended as ERROR, so it no longer blocks the node's next scan of that kind (default 1h; 0: never).")
    var scanStallTimeout: String?
    @Option(help: "Parallel write transactions per placement (default 4).") var writeLanes: String?
    @Option(help: "Parallel write transactions per placement for findings, scan statuses and uploads, apart from the reports' (default 2).")
    var findingsLanes: String?
    @Option(help: "Most reports in one write transaction (default 64).") var maxBatchReports: String?
    @Option(help: "How long a lane waits for more reports before writing; less than --commit-timeout (default 5ms).") var batchLinger: String?
    @Option(help: "Database connections per database (default: write lanes + findings lanes + 6).") var databaseConnections: String?
    @Option(help: "How long a write transaction may take before its reports are answered 503 (in doubt: they may still commit) and the lane moves on (default 20s).")
    var commitTimeout: String?

    var flags: [String: String?] {
        beat.flags.merging([
         "beatSpread": beatSpread, "beatSpreadBatch": beatSpreadBatch,
         "maxPendingReports": maxPendingReports, "offlineAfterBeats": offlineAfterBeats, "nodeRetention": nodeRetention,
         "metricSampleInterval": metricSampleInterval, "changeLogRetention": changeLogRetention,
         "scanRetention": scanRetention, "scanStallTimeout": scanStallTimeout,
         "writeLanes": writeLanes, "findingsLanes": findingsLanes, "maxBatchReports": maxBatchReports, "batchLinger": batchLinger,
         "databaseConnections": databaseConnections, "commitTimeout": commitTimeout]) { $1 }
    }
}

/// Token lifetimes (all-in-one and gateway).
struct TokenOptions: ParsableArguments {
    @Option(help: "Access token lifetime (default 30m, as ThreatMapper).") var accessTokenLifetime: String?
    @Option(help: "Refresh token lifetime (default 26h, as ThreatMapper).") var refreshTokenLifetime: String?
    @Option(help: "How long a web console session lasts from its sign-in, however often its token is renewed (default 12h).")
    var webSessionLifetime: String?
    @Option(help: ArgumentHelp(
        "A file holding the token signing key: its bytes, a trailing newline dropped, at least 32 (default: a random key kept in the catalog).",
        discussion: "Every gateway must read the same key (a Kubernetes Secret, say); tokens signed with another key are refused."))
    var tokenSigningKeyFile: String?

    var flags: [String: String?] {
        ["accessTokenLifetime": accessTokenLifetime, "refreshTokenLifetime": refreshTokenLifetime, "webSessionLifetime": webSessionLifetime,
         "tokenSigningKeyFile": tokenSigningKeyFile]
    }
}

/// The options of `all-in-one` beyond the database.
struct ServeOptions: ParsableArguments {
    @OptionGroup var listener: ListenerOptions
    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var limits: LimitOptions
    @OptionGroup var work: WorkOptions
    // Cluster
    @Option(help: "Shards of a new cluster; fixed once created (default 4096).") var shardCount: String?
    @Option(help: "This worker's stable member ID (default all-in-one).") var workerID: String?
    @Option(help: "Heartbeat, map poll and coordinator cycle interval (default 2s).") var heartbeatInterval: String?
    @Option(help: "Coordinator leader lease (default 10s).") var leaderLease: String?
    @Option(help: "Member dead after this long without a heartbeat (default 10s).") var memberTimeout: String?
    @OptionGroup var tokens: TokenOptions

    var flags: [String: String?] {
        listener.flags.merging(metrics.flags) { $1 }.merging(limits.flags) { $1 }.merging(work.flags) { $1 }
            .merging(tokens.flags) { $1 }.merging([
                "shardCount": shardCount, "workerID": workerID, "heartbeatInterval": heartbeatInterval,
                "leaderLease": leaderLease, "memberTimeout": memberTimeout,
            ]) { $1 }
    }
}
