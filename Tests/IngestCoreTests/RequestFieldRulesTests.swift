import Testing
@testable import IngestCore

struct RequestFieldRulesTests {
    func check(_ fields: [(String, String)], _ block: RequestFieldRules.Block = .request) -> String? {
        var rules = RequestFieldRules(block)
        for (name, value) in fields where !rules.add(name: name, value: value) { break }
        return rules.finish() ? nil : rules.problem
    }

    let valid: [(String, String)] = [
        (":method", "POST"), (":scheme", "https"), (":authority", "console:443"), (":path", "/deepfence/ingest/report"),
        ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"), ("content-encoding", "gzip"), ("te", "trailers"),
        ("x-odd_but-legal.token!", "value with inner  spaces"), ("empty", ""),
    ]

    @Test func aWellFormedRequestPasses() {
        #expect(check(valid) == nil)
        #expect(check([("grpc-status", "0"), ("x-checksum", "abc")], .trailers) == nil)
    }

    @Test(arguments: [
        ([(":method", "GET"), (":scheme", "https")], "missing"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "")], "empty :path"),
        ([(":method", "GET"), (":method", "POST"), (":scheme", "https"), (":path", "/")], "repeated :method"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":protocol", "websocket")], "unknown pseudo-field"),
        ([(":method", "GET"), ("accept", "*/*"), (":scheme", "https"), (":path", "/")], "after a regular field"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("Authorization", "Bearer x")], "invalid field name"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("bad name", "x")], "invalid field name"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("", "x")], "invalid field name"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), (":", "x")], "invalid field name"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("x-a", "one\r\nx-b: two")], "invalid value"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("x-a", "nul\u{0}")], "invalid value"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("x-a", " padded")], "invalid value"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("x-a", "padded\t")], "invalid value"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("connection", "close")], "connection-specific"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("transfer-encoding", "chunked")], "connection-specific"),
        ([(":method", "GET"), (":scheme", "https"), (":path", "/"), ("te", "gzip")], "te other than trailers"),
    ] as [([(String, String)], String)])
    func malformedRequestsAreRefused(fields: [(String, String)], expected: String) {
        let problem = check(fields)
        #expect(problem?.contains(expected) == true, "\(fields): \(problem ?? "accepted")")
    }

    @Test func trailersCarryNoPseudoFields() {
        #expect(check([(":path", "/")], .trailers)?.contains("in trailers") == true)
        #expect(check([("x-a", "ok\n")], .trailers)?.contains("invalid value") == true)
    }
}
