import ArgumentParser
import Foundation
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWorker
import Logging

extension ConsoleSettings {
    /// Reads every setting from the options, the environment and the file; fails with all the
    /// problems found at once.
    /// `role` is the serving command whose settings are validated (nil for operator commands).
    static func read(database: DatabaseOptions, flags: [String: String?] = [:], role: ServingRole?) async throws -> ConsoleSettings {
        try await read(flags: database.flags.merging(flags) { $1 }, configFile: database.config, role: role)
    }

    /// The same for the cluster roles, whose database options are ``CatalogOptions``.
    static func read(catalog: CatalogOptions, flags: [String: String?], role: ServingRole) async throws -> ConsoleSettings {
        try await read(flags: catalog.flags.merging(flags) { $1 }, configFile: catalog.config, role: role)
    }

    static func read(flags: [String: String?], configFile: String?, role: ServingRole?) async throws -> ConsoleSettings {
        var source = try await SettingSource(flags: flags, configFile: configFile)
        let level = source.string("logLevel", flag: "--log-level", default: "info")
        let logLevel = Logger.Level(rawValue: level)
        if logLevel == nil { source.appendProblem("--log-level: '\(level)' is not a log level") }

        let modeText = source.string("http2Mode", flag: "--http2-mode", default: "frames")
        let http2Mode = HTTPServer.HTTP2Mode(rawValue: modeText)
        if http2Mode == nil { source.appendProblem("--http2-mode: 'frames' or 'multiplexed', not '\(modeText)'") }

        var metricsAddress: (host: String, port: Int)?
        if let text = source.text("metricsAddress"), !text.isEmpty {
            if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) {
                metricsAddress = (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
            } else {
                source.appendProblem("--metrics-address: host:port, like 127.0.0.1:9464, not '\(text)'")
            }
        }

        var worker = WorkerConfiguration(memberID: source.string("workerID", flag: "--worker-id", default: "all-in-one"))
        // Defaults are the configuration structs' own, documented there.
        worker.shardCount = source.int("shardCount", flag: "--shard-count", default: worker.shardCount)
        worker.writeLanes = source.int("writeLanes", flag: "--write-lanes", default: worker.writeLanes)
        worker.findingsLanes = source.int("findingsLanes", flag: "--findings-lanes", default: worker.findingsLanes)
        worker.maxBatchReports = source.int("maxBatchReports", flag: "--max-batch-reports", default: worker.maxBatchReports)
        worker.batchLinger = source.duration("batchLinger", flag: "--batch-linger", default: worker.batchLinger)
        worker.commitTimeout = source.duration("commitTimeout", flag: "--commit-timeout", default: worker.commitTimeout)
        worker.maxPendingReports = source.int("maxPendingReports", flag: "--max-pending-reports", default: worker.maxPendingReports)
        worker.metricSampleInterval = source.duration("metricSampleInterval", flag: "--metric-sample-interval", default: worker.metricSampleInterval)
        worker.changeLogRetention = source.duration("changeLogRetention", flag: "--change-log-retention", default: worker.changeLogRetention)
        worker.scanRetention = source.duration("scanRetention", flag: "--scan-retention", default: worker.scanRetention)
        worker.scanStallTimeout = source.duration("scanStallTimeout", flag: "--scan-stall-timeout", default: worker.scanStallTimeout)
        worker.liveness.missedBeats = source.int("offlineAfterBeats", flag: "--offline-after-beats", default: worker.liveness.missedBeats)
        worker.liveness.retention = source.duration("nodeRetention", flag: "--node-retention", default: worker.liveness.retention)
        worker.beatRate.baseBeatRate = source.int("beatRate", flag: "--beat-rate", default: worker.beatRate.baseBeatRate)
        worker.beatRate.maximumBeatRate = source.int("maxBeatRate", flag: "--max-beat-rate", default: worker.beatRate.maximumBeatRate)
        worker.beatSpread.seconds = source.int("beatSpread", flag: "--beat-spread", default: worker.beatSpread.seconds)
        worker.beatSpread.batchThreshold = source.int("beatSpreadBatch", flag: "--beat-spread-batch", default: worker.beatSpread.batchThreshold)
        let interval = source.duration("heartbeatInterval", flag: "--heartbeat-interval", default: worker.heartbeatInterval)
        worker.heartbeatInterval = interval
        worker.mapPollInterval = interval

        var gateway = GatewayConfiguration()
        gateway.maxBodyBytes = source.bytes("maxBodyBytes", flag: "--max-body-bytes", default: gateway.maxBodyBytes)
        gateway.maxReportBytes = source.bytes("maxReportBytes", flag: "--max-report-bytes", default: gateway.maxReportBytes)
        gateway.maxRequestBytes = source.bytes("maxRequestBytes", flag: "--max-request-bytes", default: gateway.maxRequestBytes)
        gateway.parserLimits.maxEntities = source.int("maxReportEntities", flag: "--max-report-entities", default: gateway.parserLimits.maxEntities)
        gateway.parserLimits.maxDepth = source.int("maxJsonDepth", flag: "--max-json-depth", default: gateway.parserLimits.maxDepth)
        gateway.parserLimits.maxStringBytes = source.bytes(
            "maxJsonStringBytes", flag: "--max-json-string-bytes", default: gateway.parserLimits.maxStringBytes)
        gateway.maxCompressionRatio = source.int("maxCompressionRatio", flag: "--max-compression-ratio", default: gateway.maxCompressionRatio)
        gateway.keyRateLimit = source.int("keyRateLimit", flag: "--key-rate-limit", default: gateway.keyRateLimit)
        gateway.keyRateBurst = source.int("keyRateBurst", flag: "--key-rate-burst", default: gateway.keyRateLimit * 2)
        gateway.maxFindingsPerRequest = source.int(
            "maxFindingsPerRequest", flag: "--max-findings-per-request", default: gateway.maxFindingsPerRequest)
        gateway.maxSBOMBytes = source.bytes("maxSbomBytes", flag: "--max-sbom-bytes", default: gateway.maxSBOMBytes)
        gateway.uploadDirectory = source.string("uploadDir", flag: "--upload-dir", default: gateway.uploadDirectory)
        gateway.uploadTimeout = source.duration("uploadTimeout", flag: "--upload-timeout", default: gateway.uploadTimeout)
        gateway.maxConcurrentUploads = source.int("maxConcurrentUploads", flag: "--max-concurrent-uploads", default: gateway.maxConcurrentUploads)
        gateway.maxPageSize = source.int("maxPageSize", flag: "--max-page-size", default: gateway.maxPageSize)

        var listenerLimits = HTTPServer.Limits()
        listenerLimits.maxHeaderBytes = source.bytes("maxHeaderBytes", flag: "--max-header-bytes", default: listenerLimits.maxHeaderBytes)
        listenerLimits.maxConnectionsPerAddress = source.int(
            "maxConnectionsPerAddress", flag: "--max-connections-per-address", default: listenerLimits.maxConnectionsPerAddress)
        listenerLimits.handshakeTimeout = source.duration(
            "tlsHandshakeTimeout", flag: "--tls-handshake-timeout", default: listenerLimits.handshakeTimeout)
        listenerLimits.requestTimeout = source.duration("requestTimeout", flag: "--request-timeout", default: listenerLimits.requestTimeout)
        listenerLimits.http2ResetLimit = source.int("http2ResetLimit", flag: "--http2-reset-limit", default: listenerLimits.http2ResetLimit)
        listenerLimits.http2ControlFrameLimit = source.int(
            "http2ControlFrameLimit", flag: "--http2-control-frame-limit", default: listenerLimits.http2ControlFrameLimit)
        listenerLimits.http2MaxContinuationFrames = source.int(
            "http2MaxContinuationFrames", flag: "--http2-max-continuation-frames", default: listenerLimits.http2MaxContinuationFrames)
        let tlsReloadInterval = source.duration("tlsReloadInterval", flag: "--tls-reload-interval", default: .seconds(30))

        var postgresSettings: [(name: String, value: String)] = []
        var settingProblems: [String] = []
        if let text = source.text("postgresSettings") {
            switch SettingText.serverSettings(text) {
            case .success(let parsed): postgresSettings = parsed
            case .failure(let problem): settingProblems.append("--postgres-settings: \(problem)")
            }
        }
        var databasePassword: String?
        if let file = source.text("databasePasswordFile") {
            if var text = FileManager.default.contents(atPath: file).flatMap({ String(data: $0, encoding: .utf8) }) {
                if text.hasSuffix("\n") { text.removeLast() }
                databasePassword = text
            } else {
                settingProblems.append("--database-password-file: cannot read \(file)")
            }
        }
        var settings = ConsoleSettings(
            dataDirectory: source.string("dataDir", flag: "--data-dir", default: "./.console"),
            databaseURL: source.text("databaseURL").map { DatabaseURL.text($0, withPassword: databasePassword) },
            postgresBin: source.text("postgresBin"),
            postgresSettings: postgresSettings,
            logLevel: logLevel ?? .info,
            host: source.string("host", flag: "--host", default: "0.0.0.0"),
            port: source.int("port", flag: "--port", default: 443),
            advertiseHost: source.text("advertiseHost"),
            tlsCertificate: source.text("tlsCert"),
            tlsKey: source.text("tlsKey"),
            maxConcurrentStreams: source.int("maxConcurrentStreams", flag: "--max-concurrent-streams", default: 100),
            idleTimeout: source.duration("idleTimeout", flag: "--idle-timeout", default: .seconds(300)),
            http2Mode: http2Mode ?? .frames,
            metricsAddress: metricsAddress,
            gateway: gateway,
            worker: worker,
            databaseConnections: source.int("databaseConnections", flag: "--database-connections", default: worker.writeLanes + worker.findingsLanes + 6),
            leaderLease: source.duration("leaderLease", flag: "--leader-lease", default: .seconds(10)),
            memberTimeout: source.duration("memberTimeout", flag: "--member-timeout", default: .seconds(10)),
            accessTokenLifetime: source.duration("accessTokenLifetime", flag: "--access-token-lifetime", default: .seconds(1800)),
            refreshTokenLifetime: source.duration("refreshTokenLifetime", flag: "--refresh-token-lifetime", default: .seconds(26 * 3600)))
        settings.tokenSigningKeyFile = source.text("tokenSigningKeyFile")
        settings.listenerLimits = listenerLimits
        settings.tlsReloadInterval = tlsReloadInterval
        settings.databasePassword = databasePassword
        if source.text("advertisePort") != nil {
            settings.advertisePort = source.int("advertisePort", flag: "--advertise-port", default: 443)
        }
        var problems = source.problems + settingProblems
        let cluster = ClusterSettings.read(&source, role: role)
        settings.cluster = cluster
        if role != nil {
            problems += [settings.worker.validate(), settings.gateway.validate()].compactMap { $0 }
            if !(0...65535).contains(settings.port) { problems.append("--port must be 0 to 65535") }
            if let port = settings.advertisePort, !(1...65535).contains(port) { problems.append("--advertise-port must be 1 to 65535") }
            if (settings.tlsCertificate == nil) != (settings.tlsKey == nil) { problems.append("--tls-cert and --tls-key go together") }
            if settings.maxConcurrentStreams < 1 { problems.append("--max-concurrent-streams must be at least 1") }
            problems += settings.listenerLimits.problems()
            if tlsReloadInterval < .zero { problems.append("--tls-reload-interval must be 0 (never) or more") }
            if settings.databaseConnections < settings.worker.writeLanes + settings.worker.findingsLanes + 2 {
                problems.append("--database-connections must be at least --write-lanes + --findings-lanes + 2")
            }
            if settings.accessTokenLifetime < .seconds(60) { problems.append("--access-token-lifetime must be at least 1m") }
            if settings.leaderLease <= interval { problems.append("--leader-lease must be longer than --heartbeat-interval") }
        }
        problems += source.problems.filter { !problems.contains($0) }
        if let role { problems += cluster.validate(role: role, interval: interval) }
        if !problems.isEmpty {
            throw ValidationError(problems.joined(separator: "\n"))
        }
        return settings
    }
}
