import IngestCompression
import LoadTestCore
import NIOCore
import NIOHTTP1

/// The hostile mix (`--hostile`): attackers of their own, each on its own connection, sending one
/// hostile request every third of a beat (a sensor sends a report and two polls a beat, so the
/// attackers' share of requests is about their share of sensors) from the start of the run to
/// its end.
struct HostileBodies: Sendable {
    let bodies: [HostileRequest: [UInt8]]
    /// A report as a sensor would send it, for the forged-token request.
    let report: [UInt8]

    init(configuration: FleetRunner.Configuration, seed: UInt64) {
        var random = SplitMix64(seed: seed ^ 0xBAD)
        var bodies: [HostileRequest: [UInt8]] = [:]
        bodies[.badGzip] = [0x1F, 0x8B, 8, 0] + (0..<2048).map { _ in UInt8.random(in: 0...255, using: &random) }
        bodies[.bomb] = Gzip.compress([UInt8](repeating: 0, count: configuration.hostileBombBytes), level: 9)
        // Noise does not compress: the gzip stays over the limit.
        bodies[.oversize] = [0x1F, 0x8B, 8, 0] + (0..<configuration.hostileOversizeBytes).map { _ in UInt8.random(in: 0...255, using: &random) }
        bodies[.junkJSON] = Gzip.compress(HostileRequest.junkJSON.plainBody(using: &random), level: 1)
        // Stored, not compressed: 20,000 brackets compress past --max-compression-ratio, and the
        // nesting, not the ratio, is what this request tries.
        bodies[.deepJSON] = Gzip.compress(HostileRequest.deepJSON.plainBody(using: &random), level: 0)
        self.bodies = bodies
        let sensor = SimulatedSensor(nodeID: "hostile-forged", profile: .host, seed: seed)
        report = Gzip.compress(sensor.render(reportID: "1", timestamp: "2026-01-01T00:00:00Z"), level: 1)
    }
}

extension FleetRunner {
    func runAttacker(index: Int, bodies: HostileBodies, stop: Double, start: ContinuousClock.Instant) async {
        let targets = [configuration.target] + configuration.moreTargets
        let slot = SensorConnection(target: targets[index % targets.count])
        defer { Task { await slot.close() } }
        var random = SplitMix64(seed: (configuration.scenario.seed ?? 1) &* 31 &+ UInt64(index) &+ 0xA77AC4)
        let interval = Double(configuration.scenario.beat ?? 30) / 3
        // A valid token, so the limits behind authentication are reached too.
        var token: String?
        var next = Double.random(in: 0..<interval, using: &random)
        while true {
            let now = (ContinuousClock.now - start).secondsValue
            if now >= stop { break }
            if next > now { try? await Task.sleep(for: .milliseconds(Int64((next - now) * 1000) + 1)) }
            next += interval * Double.random(in: 0.8...1.2, using: &random)
            if (ContinuousClock.now - start).secondsValue >= stop { break }
            if token == nil {
                let headers: HTTPHeaders = ["content-type": "application/json"]
                let login = await exchange("/deepfence/auth/token", headers: headers,
                                           body: ByteBuffer(string: #"{"api_token":"\#(configuration.sensorKey)"}"#), slot: slot)
                token = login.status == 200 ? Self.tokenPair(login.body)?.access : nil
                continue
            }
            let request = HostileRequest.allCases[Int.random(in: 0..<HostileRequest.allCases.count, using: &random)]
            var headers: HTTPHeaders = [:]
            let path: String
            let body: ByteBuffer
            switch request {
            case .badLogin:
                path = "/deepfence/auth/token"
                headers.add(name: "content-type", value: "application/json")
                let key = (0..<24).map { _ in String(UInt8.random(in: 0...255, using: &random), radix: 16) }.joined()
                body = ByteBuffer(string: #"{"api_token":"ZGVmYXVsdDo\#(key)"}"#)
            case .badToken:
                path = "/deepfence/ingest/report"
                headers.add(name: "content-encoding", value: "gzip")
                headers.add(name: "authorization", value: "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoxLCJyb2xlIjoiYWRtaW4ifQ.forged")
                body = ByteBuffer(bytes: bodies.report)
            default:
                path = "/deepfence/ingest/report"
                headers.add(name: "content-encoding", value: "gzip")
                headers.add(name: "authorization", value: "Bearer \(token ?? "")")
                body = ByteBuffer(bytes: bodies.bodies[request] ?? [])
            }
            let (status, _) = await exchange(path, headers: headers, body: body, slot: slot)
            hostileAnswers.withLock { $0[request, default: [:]][status, default: 0] += 1 }
            // A token that expired or was refused: log in again on the next turn.
            if status == 401 && request != .badToken && request != .badLogin { token = nil }
        }
    }
}
