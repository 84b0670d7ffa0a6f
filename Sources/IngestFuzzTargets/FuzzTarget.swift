import IngestAuth
import IngestCompression
import IngestCore

/// The parsers that read untrusted bytes, each driven by one fuzz input.
///
/// ## Overview
/// `Fuzz/` builds one libFuzzer binary per case (`make fuzz`); the regression tests replay the
/// committed corpus and every crash input through the same ``run(_:)``. An input may be rejected
/// with an ``IngestError`` (that is the parser working); what it must never do is crash, hang,
/// or return something that breaks the invariant the case checks, which traps on purpose so the
/// fuzzer records the input.
public enum FuzzTarget: String, Sendable, CaseIterable {
    /// ``ReportParser`` on a decompressed report.
    case report
    /// ``ReportBody`` (gunzip with its size limit) on a request body.
    case gzip
    /// The JSON bodies of login and controls (``SensorRequest``) and the API key text.
    case requests
    /// ``TokenSigner/verify(_:kind:now:)`` on a bearer token, and on claims signed with the key.
    case token

    /// The limits the targets run with: small, so inputs reach them.
    static let parser = ReportParser(limits: .init(maxEntities: 2_000, maxDepth: 16, maxStringBytes: 4096))
    static let gunzipLimit = 1 << 20
    static let gunzipRatio = 100
    static let signer = TokenSigner(key: Array(repeating: 0x5A, count: 32))
    static let now = Timestamp(milliseconds: 1_800_000_000_000)

    /// Feeds one input to the case's parser.
    public func run(_ input: [UInt8]) {
        switch self {
        case .report: Self.report(input)
        case .gzip: Self.gzip(input)
        case .requests: Self.requests(input)
        case .token: Self.token(input)
        }
    }

    static func report(_ input: [UInt8]) {
        guard let report = try? parser.parse(input) else { return }
        check(report.entities.count <= parser.limits.maxEntities, "entity limit passed")
        check(report.nodeID.utf8.count > 0, "a report without a node ID was accepted")
        for entity in report.entities {
            for span in [entity.id, entity.peer, entity.body, entity.metrics.cpuUsage, entity.metrics.memoryUsage] {
                check(span.start >= 0 && span.start <= span.end && Int(span.end) <= input.count, "span outside the report")
            }
            _ = report.id(of: entity)
        }
    }

    static func gzip(_ input: [UInt8]) {
        let decoded = input.withUnsafeBytes { raw in
            try? ReportBody.decode(raw, contentEncoding: "gzip", limit: gunzipLimit, maxRatio: gunzipRatio)
        }
        if let decoded {
            check(decoded.count <= gunzipLimit, "gunzip produced more than its limit")
            check(decoded.count <= input.count * gunzipRatio, "gunzip inflated past its ratio")
        }
    }

    static func requests(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let body = Array(input.dropFirst())
        switch selector % 5 {
        case 0:
            if let token = try? SensorRequest.login(body) {
                check(!token.isEmpty && token.utf8.count <= SensorRequest.maxAPITokenBytes, "login token outside its bounds")
                _ = APIKey(parsing: token)
            }
        case 1, 2, 3:
            let route: [ControlsRequest.Route] = [.agentInit, .agent, .kubernetesCluster]
            if let request = try? SensorRequest.controls(body, route: route[Int(selector % 5) - 1]) {
                check(!request.nodeID.isEmpty && request.nodeID.utf8.count <= SensorRequest.maxNodeIDBytes, "node ID outside its bounds")
            }
        default:
            if let answer = try? SensorRequest.cloudNode(body) {
                check(SensorRequest.cloudProviders.contains(answer.provider), "unknown cloud provider accepted")
            }
        }
    }

    /// Odd first byte: the rest is a token as a client sends it, which must not verify (its MAC
    /// is unknown to the input). Even: the rest is a header and claims that get signed with the
    /// target's key, so verification reaches the claim checks.
    static func token(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let rest = Array(input.dropFirst())
        let kind: TokenSigner.Claims.Kind = selector & 2 == 0 ? .access : .refresh
        if selector & 1 == 1 {
            let text = String(decoding: rest, as: UTF8.self)
            if let claims = try? signer.verify(Substring(text), kind: kind, now: now) {
                check(signer.isSigned(text), "a token verified without the key's signature: \(claims.keyID)")
            }
            return
        }
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        let header = Array(rest[..<split]), claims = Array(rest[split...].dropFirst())
        let token = signer.signed(header: header, claims: claims)
        if let verified = try? signer.verify(Substring(token), kind: kind, now: now) {
            check(verified.expiresAt * 1000 > now.milliseconds, "an expired token verified")
            check(verified.kind == kind, "a token of the other kind verified")
        }
    }

    static func check(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant broken: \(what())") }
    }
}
