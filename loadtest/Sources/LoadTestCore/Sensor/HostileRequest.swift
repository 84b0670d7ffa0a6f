/// The hostile requests a fleet run can mix in (`--hostile`): what a broken or malicious client
/// sends to the sensor routes, and what a console holding its limits answers each with.
public enum HostileRequest: String, CaseIterable, Sendable, Codable {
    /// A gzip header followed by noise.
    case badGzip = "bad_gzip"
    /// Megabytes of zeros in a few kilobytes of gzip.
    case bomb
    /// A body over the ingest routes' size limit.
    case oversize
    /// A well-formed report with a forged bearer token.
    case badToken = "bad_token"
    /// Valid gzip of text that is not JSON.
    case junkJSON = "junk_json"
    /// JSON nested far deeper than any report.
    case deepJSON = "deep_json"
    /// A login with a key the console never issued.
    case badLogin = "bad_login"

    /// Answers that show the console refused it as it should (429 too: the attackers share the
    /// fleet's key, whose rate they spend).
    public var expectedStatuses: Set<Int> {
        switch self {
        case .badGzip, .junkJSON, .deepJSON: [400, 429]
        case .bomb, .oversize: [413, 429]
        case .badToken, .badLogin: [401, 429]
        }
    }

    /// The uncompressed JSON of `junkJSON` and `deepJSON` (the others are built by the runner,
    /// which has gzip).
    public func plainBody<R: RandomNumberGenerator>(using random: inout R) -> [UInt8] {
        switch self {
        case .junkJSON:
            let letters = Array("{}[]\":,abcdefghijklmnopqrstuvwxyz0123456789 \\".utf8)
            return (0..<4096).map { _ in letters[Int.random(in: 0..<letters.count, using: &random)] }
        case .deepJSON:
            return Array((#"{"Host":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}").utf8)
        default:
            return []
        }
    }
}
