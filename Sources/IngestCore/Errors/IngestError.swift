/// An error the console reports to a client: a stable code, a message safe to show (it never
/// contains payloads, tokens or SQL), and, for limits, the setting that changes the limit.
///
/// Errors are created through the static constructors below, so each code has one wording, and
/// mapped to an HTTP status in one place, ``httpStatus``.
public struct IngestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable error code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let missingToken = Code(rawValue: "missing_token")
        public static let invalidToken = Code(rawValue: "invalid_token")
        public static let expiredToken = Code(rawValue: "expired_token")
        public static let invalidAPIKey = Code(rawValue: "invalid_api_key")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let malformedJSON = Code(rawValue: "malformed_json")
        public static let malformedGzip = Code(rawValue: "malformed_gzip")
        public static let unsupportedEncoding = Code(rawValue: "unsupported_content_encoding")
        public static let invalidRequest = Code(rawValue: "invalid_request")
        public static let bodyTooLarge = Code(rawValue: "body_too_large")
        public static let reportTooLarge = Code(rawValue: "report_too_large")
        public static let reportTooComplex = Code(rawValue: "report_too_complex")
        /// A gzip body that inflates more than `--max-compression-ratio` times its size.
        public static let compressionRatio = Code(rawValue: "compression_ratio_exceeded")
        /// JSON nested deeper than `--max-json-depth`.
        public static let jsonTooDeep = Code(rawValue: "json_too_deep")
        /// A JSON string longer than `--max-json-string-bytes`.
        public static let stringTooLong = Code(rawValue: "json_string_too_long")
        /// More requests for one API key than `--key-rate-limit` allows.
        public static let rateLimited = Code(rawValue: "rate_limited")
        public static let notFound = Code(rawValue: "not_found")
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        public static let shardMoved = Code(rawValue: "shard_moved")
        public static let overloaded = Code(rawValue: "overloaded")
        public static let unavailable = Code(rawValue: "unavailable")
        /// The owning worker did not answer within the gateway's deadline: the report may or may
        /// not have been committed (a resend is idempotent). Also a command or scan the worker
        /// took before its connection failed (``IngestError/noAnswer``): it may have been queued.
        public static let forwardTimeout = Code(rawValue: "forward_timeout")
        /// The worker's write transaction did not finish in time: the report may or may not have
        /// been committed (a resend is idempotent).
        public static let commitTimeout = Code(rawValue: "commit_timeout")
        public static let internalError = Code(rawValue: "internal_error")
        /// Some parts of a findings request were stored and some were not: a resend stores the
        /// rest and nothing twice.
        public static let partiallyStored = Code(rawValue: "partially_stored")
        /// A scan of that kind is already queued or running on the node.
        public static let scanInProgress = Code(rawValue: "scan_in_progress")
        /// A new scan's ID was taken (two scans of a node queued in the same millisecond).
        public static let scanIDTaken = Code(rawValue: "scan_id_taken")

        /// Every code above (each has a metric series from the start).
        public static let all: [Code] = [
            .missingToken, .invalidToken, .expiredToken, .invalidAPIKey, .forbidden, .malformedJSON, .malformedGzip,
            .unsupportedEncoding, .invalidRequest, .bodyTooLarge, .reportTooLarge, .reportTooComplex, .compressionRatio,
            .jsonTooDeep, .stringTooLong, .rateLimited, .notFound, .methodNotAllowed, .shardMoved, .overloaded, .unavailable,
            .forwardTimeout, .commitTimeout, .internalError, .partiallyStored, .scanInProgress, .scanIDTaken,
        ]
    }

    /// The stable code.
    public let code: Code
    /// A human-readable explanation without any payload content.
    public let message: String
    /// The configuration setting (flag name) that changes the limit this error reports, if any.
    public let setting: String?
    /// Seconds after which a retry may succeed, answered as `Retry-After`, if known.
    public let retryAfter: Int?

    init(_ code: Code, _ message: String, setting: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.setting = setting
        self.retryAfter = retryAfter
    }

    public var description: String {
        setting.map { "\(code): \(message) (setting: \($0))" } ?? "\(code): \(message)"
    }

    /// The HTTP status this error is answered with.
    public var httpStatus: Int {
        switch code {
        case .missingToken, .invalidToken, .expiredToken, .invalidAPIKey: 401
        case .forbidden: 403
        case .malformedJSON, .malformedGzip, .invalidRequest, .reportTooComplex, .jsonTooDeep, .stringTooLong: 400
        case .unsupportedEncoding: 415
        case .bodyTooLarge, .reportTooLarge, .compressionRatio: 413
        case .rateLimited: 429
        case .notFound: 404
        case .methodNotAllowed: 405
        case .scanInProgress, .scanIDTaken: 409
        case .shardMoved, .overloaded, .unavailable, .forwardTimeout, .commitTimeout, .partiallyStored: 503
        default: 500
        }
    }
}

extension IngestError {
    public static let missingToken = IngestError(.missingToken, "this route needs an 'Authorization: Bearer <token>' header")
    public static let invalidToken = IngestError(.invalidToken, "the bearer token is not valid")
    public static let expiredToken = IngestError(.expiredToken, "the bearer token has expired; refresh it or log in again")
    public static let wrongTokenKind = IngestError(.invalidToken, "this route needs a refresh token as bearer")
    public static let invalidAPIKey = IngestError(.invalidAPIKey, "the API key is not valid")
    public static let adminOnly = IngestError(.forbidden, "this route needs an admin API key's token")
    public static let sensorOnly = IngestError(.forbidden, "this route needs a sensor API key's token")
    public static let notFound = IngestError(.notFound, "no such route")
    public static let methodNotAllowed = IngestError(.methodNotAllowed, "this route does not take that method")
    public static let malformedGzip = IngestError(.malformedGzip, "the body is not valid gzip")
    public static let overloaded = IngestError(.overloaded, "the console is shedding load; retry after a random part of the beat")
    public static let shardMoved = IngestError(.shardMoved, "the node's shard is moving between workers; retry shortly")
    public static let unavailable = IngestError(.unavailable, "no worker owns this node's shard right now; retry shortly")
    public static let draining = IngestError(.unavailable, "the worker owning this node's shard is shutting down; retry shortly")
    public static let commitTimeout = IngestError(
        .commitTimeout, "the write of this report did not finish in time; it may still be committed, which a resend finds",
        setting: "--commit-timeout")
    public static let deadlineExceeded = IngestError(
        .forwardTimeout, "the owning worker did not answer in time; it may still commit the report, which a resend finds",
        setting: "--forward-timeout")
    public static let noAnswer = IngestError(
        .forwardTimeout, "the owning worker took the request but its connection failed before it answered; it may have been applied: look before sending it again")
    public static let internalError = IngestError(.internalError, "the console could not complete the request")
    public static let spoolUnavailable = IngestError(.unavailable, "the upload could not be written to this gateway's disk; retry later")
    /// An upload refused from its request head: the uploads on this gateway's disk already hold
    /// `--max-spool-bytes`.
    public static func spoolFull(capacity: Int) -> IngestError {
        IngestError(
            .overloaded, "this gateway already holds \(capacity) bytes of uploads on disk; retry later", setting: "--max-spool-bytes",
            retryAfter: 30)
    }

    public static func noSuch(_ what: String) -> IngestError {
        IngestError(.notFound, "no \(what) with that ID")
    }
    public static func malformedJSON(_ detail: String) -> IngestError {
        IngestError(.malformedJSON, "malformed JSON: \(detail)")
    }
    public static func invalidRequest(_ detail: String) -> IngestError {
        IngestError(.invalidRequest, detail)
    }
    public static func unsupportedEncoding(_ encoding: String) -> IngestError {
        let shown = encoding.count <= 32 ? encoding : String(encoding.prefix(32)) + "…"
        return IngestError(.unsupportedEncoding, "Content-Encoding '\(shown)' is not supported; send gzip or identity")
    }
    public static func bodyTooLarge(limit: Int, setting: String) -> IngestError {
        IngestError(.bodyTooLarge, "the request body is larger than \(limit) bytes", setting: setting)
    }
    public static func reportTooLarge(limit: Int, setting: String) -> IngestError {
        IngestError(.reportTooLarge, "the decompressed body is larger than \(limit) bytes", setting: setting)
    }
    public static func reportTooComplex(_ detail: String, setting: String) -> IngestError {
        IngestError(.reportTooComplex, detail, setting: setting)
    }
    public static func compressionRatio(limit: Int, setting: String) -> IngestError {
        IngestError(.compressionRatio, "the body inflates more than \(limit) times its compressed size", setting: setting)
    }
    public static func jsonTooDeep(limit: Int, setting: String?) -> IngestError {
        IngestError(.jsonTooDeep, "JSON nested deeper than \(limit) levels", setting: setting)
    }
    public static func stringTooLong(limit: Int, setting: String?) -> IngestError {
        IngestError(.stringTooLong, "a JSON string is longer than \(limit) bytes", setting: setting)
    }
    public static func partiallyStored(stored: Int, of parts: Int, cause: IngestError) -> IngestError {
        IngestError(
            .partiallyStored,
            "\(stored) of the \(parts) nodes' records were stored; the others were not (\(cause.code): \(cause.message)). Resend the request: nothing is stored twice",
            setting: cause.setting)
    }
    /// A new scan's ID is taken (two scans of a node queued in the same millisecond); the
    /// gateway draws another ID.
    public static let scanIDTaken = IngestError(.scanIDTaken, "the new scan's ID is taken; queue it again")
    public static func scanInProgress(_ scanID: String, kind: String) -> IngestError {
        IngestError(.scanInProgress, "a \(kind) scan is already queued or running on this node: \(scanID)")
    }
    /// The same error with `context` (which record, which field) in front of its message.
    public func within(_ context: String) -> IngestError {
        IngestError(code, "\(context): \(message)", setting: setting, retryAfter: retryAfter)
    }
    public static func rateLimited(limit: Int, setting: String) -> IngestError {
        IngestError(.rateLimited, "more than \(limit) requests per second for this API key; retry after a second", setting: setting, retryAfter: 1)
    }
}

extension IngestError {
    /// An error another member of the cluster answered with (its stable code, message and
    /// setting), as a gateway passes it on to the sensor.
    public static func relayed(code: String, message: String, setting: String?) -> IngestError {
        IngestError(Code(rawValue: code), message, setting: setting)
    }
}

/// A setting that is out of range, naming the setting; thrown by each role's `validate()`.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
