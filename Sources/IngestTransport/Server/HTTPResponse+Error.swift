import IngestCore
import NIOHTTP1

extension HTTPResponse {
    /// The one place an ``IngestError`` becomes a response: its status, and a JSON body with the
    /// ThreatMapper error fields (`message`, `error_fields`) plus a stable `code` and, for limits,
    /// the `setting` that changes it.
    public static func error(_ error: IngestError) -> HTTPResponse {
        var body = #"{"success":false,"message":"# + JSONText.quoted(error.message) + #","code":"# + JSONText.quoted(error.code.rawValue)
        if let setting = error.setting { body += #","setting":"# + JSONText.quoted(setting) }
        body += #","error_fields":null}"#
        var response = HTTPResponse.json(HTTPResponseStatus(statusCode: error.httpStatus), body)
        if error.httpStatus == 401 { response.headers.add(name: "www-authenticate", value: "Bearer") }
        // A key over its request rate gets its tokens back within a second; a full upload spool
        // frees within seconds.
        if let seconds = error.retryAfter { response.headers.add(name: "retry-after", value: String(seconds)) }
        return response
    }
}
