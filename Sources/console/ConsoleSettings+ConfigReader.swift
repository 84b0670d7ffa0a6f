import ArgumentParser
import Foundation
import IngestConsole
import IngestCoordinator
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport
import IngestWorker
import Logging

extension ConsoleSettings {
    /// Reads every setting of `command` from the options, the environment and the file; fails
    /// with all the problems found at once. `database.flags` and `flags` together hold every
    /// setting the command takes (nil where not given).
    static func read(database: DatabaseOptions, flags: [String: String?] = [:], command: ServingRole) throws -> ConsoleSettings {
        try read(flags: database.flags.merging(flags) { $1 }, configFile: database.config, command: command)
    }

    /// The same for the cluster roles, whose database options are ``CatalogOptions``.
    static func read(catalog: CatalogOptions, flags: [String: String?], command: ServingRole) throws -> ConsoleSettings {
        try read(flags: catalog.flags.merging(flags) { $1 }, configFile: catalog.config, command: command)
    }

    static func read(flags: [String: String?], configFile: String?, command: ServingRole) throws -> ConsoleSettings {
        var source = SettingSource(command: command.rawValue, flags: flags, configFile: configFile)
        for warning in source.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let role = command.serves ? command : nil
        let level = source.string("logLevel", default: "info")
        let logLevel = Logger.Level(rawValue: level)
        if logLevel == nil { source.appendProblem("--log-level: '\(level)' is not a log level") }

        let modeText = source.string("http2Mode", default: "frames")
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

        var worker = WorkerConfiguration(memberID: source.string("workerID", default: "all-in-one"))
        // Defaults are the configuration structs' own, documented there.
        worker.shardCount = source.int("shardCount", default: worker.shardCount)
        worker.writeLanes = source.int("writeLanes", default: worker.writeLanes)
        worker.findingsLanes = source.int("findingsLanes", default: worker.findingsLanes)
        worker.maxBatchReports = source.int("maxBatchReports", default: worker.maxBatchReports)
        worker.batchLinger = source.duration("batchLinger", default: worker.batchLinger)
        worker.commitTimeout = source.duration("commitTimeout", default: worker.commitTimeout)
        worker.maxPendingReports = source.int("maxPendingReports", default: worker.maxPendingReports)
        worker.metricSampleInterval = source.duration("metricSampleInterval", default: worker.metricSampleInterval)
        worker.changeLogRetention = source.duration("changeLogRetention", default: worker.changeLogRetention)
        worker.scanRetention = source.duration("scanRetention", default: worker.scanRetention)
        worker.scanStallTimeout = source.duration("scanStallTimeout", default: worker.scanStallTimeout)
        worker.liveness.missedBeats = source.int("offlineAfterBeats", default: worker.liveness.missedBeats)
        worker.liveness.retention = source.duration("nodeRetention", default: worker.liveness.retention)
        worker.beatRate.baseBeatRate = source.int("beatRate", default: worker.beatRate.baseBeatRate)
        worker.beatRate.maximumBeatRate = source.int("maxBeatRate", default: worker.beatRate.maximumBeatRate)
        worker.beatSpread.seconds = source.int("beatSpread", default: worker.beatSpread.seconds)
        worker.beatSpread.batchThreshold = source.int("beatSpreadBatch", default: worker.beatSpread.batchThreshold)
        let interval = source.duration("heartbeatInterval", default: worker.heartbeatInterval)
        worker.heartbeatInterval = interval
        worker.mapPollInterval = interval

        var gateway = GatewayConfiguration()
        gateway.maxBodyBytes = source.bytes("maxBodyBytes", default: gateway.maxBodyBytes)
        gateway.maxReportBytes = source.bytes("maxReportBytes", default: gateway.maxReportBytes)
        gateway.maxRequestBytes = source.bytes("maxRequestBytes", default: gateway.maxRequestBytes)
        gateway.parserLimits.maxEntities = source.int("maxReportEntities", default: gateway.parserLimits.maxEntities)
        gateway.parserLimits.maxDepth = source.int("maxJsonDepth", default: gateway.parserLimits.maxDepth)
        gateway.parserLimits.maxStringBytes = source.bytes(
            "maxJsonStringBytes", default: gateway.parserLimits.maxStringBytes)
        gateway.maxCompressionRatio = source.int("maxCompressionRatio", default: gateway.maxCompressionRatio)
        gateway.keyRateLimit = source.int("keyRateLimit", default: gateway.keyRateLimit)
        gateway.keyRateBurst = source.int("keyRateBurst", default: gateway.keyRateLimit * 2)
        gateway.maxFindingsPerRequest = source.int(
            "maxFindingsPerRequest", default: gateway.maxFindingsPerRequest)
        gateway.maxSBOMBytes = source.bytes("maxSbomBytes", default: gateway.maxSBOMBytes)
        gateway.uploadDirectory = source.string("uploadDir", default: gateway.uploadDirectory)
        gateway.uploadTimeout = source.duration("uploadTimeout", default: gateway.uploadTimeout)
        gateway.maxConcurrentUploads = source.int("maxConcurrentUploads", default: gateway.maxConcurrentUploads)
        gateway.maxSpoolBytes = source.bytes("maxSpoolBytes", default: gateway.maxSpoolBytes)
        gateway.maxPageSize = source.int("maxPageSize", default: gateway.maxPageSize)

        // Defaults are the role types' own (PublicListenerConfiguration, TokenConfiguration,
        // Coordinator.Configuration, …), documented there.
        var listener = PublicListenerConfiguration()
        listener.limits.maxHeaderBytes = source.bytes("maxHeaderBytes", default: listener.limits.maxHeaderBytes)
        listener.limits.maxConnectionsPerAddress = source.int(
            "maxConnectionsPerAddress", default: listener.limits.maxConnectionsPerAddress)
        listener.limits.handshakeTimeout = source.duration(
            "tlsHandshakeTimeout", default: listener.limits.handshakeTimeout)
        listener.limits.requestTimeout = source.duration("requestTimeout", default: listener.limits.requestTimeout)
        listener.limits.http2ResetLimit = source.int("http2ResetLimit", default: listener.limits.http2ResetLimit)
        listener.limits.http2ControlFrameLimit = source.int(
            "http2ControlFrameLimit", default: listener.limits.http2ControlFrameLimit)
        listener.limits.http2MaxContinuationFrames = source.int(
            "http2MaxContinuationFrames", default: listener.limits.http2MaxContinuationFrames)
        listener.tlsReloadInterval = source.duration("tlsReloadInterval", default: listener.tlsReloadInterval)

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
        listener.host = source.string("host", default: listener.host)
        listener.port = source.int("port", default: listener.port)
        listener.maxConcurrentStreams = source.int("maxConcurrentStreams", default: listener.maxConcurrentStreams)
        listener.idleTimeout = source.duration("idleTimeout", default: listener.idleTimeout)
        listener.http2Mode = http2Mode ?? listener.http2Mode
        var tokens = TokenConfiguration()
        tokens.accessTokenLifetime = source.duration("accessTokenLifetime", default: tokens.accessTokenLifetime)
        tokens.refreshTokenLifetime = source.duration("refreshTokenLifetime", default: tokens.refreshTokenLifetime)
        tokens.webSessionLifetime = source.duration("webSessionLifetime", default: tokens.webSessionLifetime)
        var coordinator = Coordinator.Configuration(memberID: "coordinator")
        coordinator.leaseDuration = source.duration("leaderLease", default: coordinator.leaseDuration)
        coordinator.memberTimeout = source.duration("memberTimeout", default: coordinator.memberTimeout)
        // The cluster's beat runs between the workers' bounds (the same settings), checked once,
        // with the worker's; a gateway hands it out while a leader keeps it fresh.
        coordinator.beatRate = worker.beatRate
        gateway.clusterBeatTimeout = coordinator.clusterBeatTimeout
        var settings = ConsoleSettings(
            dataDirectory: source.string("dataDir", default: "./.console"),
            databaseURL: source.text("databaseURL").map { DatabaseURL.text($0, withPassword: databasePassword) },
            postgresBin: source.text("postgresBin"),
            postgresSettings: postgresSettings,
            logLevel: logLevel ?? .info,
            listener: listener, tokens: tokens, gateway: gateway, worker: worker, coordinator: coordinator,
            advertiseHost: source.text("advertiseHost"),
            tlsCertificate: source.text("tlsCert"),
            tlsKey: source.text("tlsKey"),
            metricsAddress: metricsAddress,
            databaseConnections: source.int("databaseConnections", default: worker.writeLanes + worker.findingsLanes + 6))
        settings.tokenSigningKeyFile = source.text("tokenSigningKeyFile")
        settings.databasePassword = databasePassword
        if source.text("advertisePort") != nil {
            settings.advertisePort = source.int("advertisePort", default: 443)
        }
        var problems = source.problems + settingProblems
        let cluster = ClusterSettings.read(&source, role: role)
        settings.cluster = cluster
        if role != nil {
            problems += settings.worker.problems() + settings.gateway.problems()
            if !(0...65535).contains(settings.listener.port) { problems.append("--port must be 0 to 65535") }
            if let port = settings.advertisePort, !(1...65535).contains(port) { problems.append("--advertise-port must be 1 to 65535") }
            if (settings.tlsCertificate == nil) != (settings.tlsKey == nil) { problems.append("--tls-cert and --tls-key go together") }
            if settings.listener.maxConcurrentStreams < 1 { problems.append("--max-concurrent-streams must be at least 1") }
            problems += settings.listener.limits.problems()
            if settings.listener.tlsReloadInterval < .zero { problems.append("--tls-reload-interval must be 0 (never) or more") }
            if settings.databaseConnections < settings.worker.writeLanes + settings.worker.findingsLanes + 2 {
                problems.append("--database-connections must be at least --write-lanes + --findings-lanes + 2")
            }
            if settings.tokens.accessTokenLifetime < .seconds(60) { problems.append("--access-token-lifetime must be at least 1m") }
            if settings.tokens.webSessionLifetime < .seconds(60) { problems.append("--web-session-lifetime must be at least 1m") }
            if role == .allInOne || role == .coordinator {
                problems += ClusterTiming.problems(
                    heartbeatInterval: interval, leaderLease: settings.coordinator.leaseDuration, memberTimeout: settings.coordinator.memberTimeout)
            }
        }
        problems += source.problems.filter { !problems.contains($0) }
        if let role { problems += cluster.validate(role: role, interval: interval) }
        if !problems.isEmpty {
            throw ValidationError(problems.joined(separator: "\n"))
        }
        return settings
    }
}
