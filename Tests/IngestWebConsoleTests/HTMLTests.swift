import Testing

@testable import IngestWebConsole

@Suite struct HTMLTests {
    @Test(arguments: [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        (#"" onmouseover="alert(1)"#, "&quot; onmouseover=&quot;alert(1)"),
        ("' autofocus onfocus='x", "&#39; autofocus onfocus=&#39;x"),
        ("a & b", "a &amp; b"),
        ("nul\0byte", "nul\u{FFFD}byte"),
        ("plain-host.example", "plain-host.example"),
    ])
    func interpolatedTextIsEscaped(input: String, expected: String) {
        let html: HTML = "<td title=\"\(input)\">\(input)</td>"
        #expect(html.text == "<td title=\"\(expected)\">\(expected)</td>")
    }

    @Test func markupIsInsertedAsItIs() {
        let inner: HTML = "<b>\("<i>")</b>"
        let outer: HTML = "<p>\(inner)</p>"
        #expect(outer.text == "<p><b>&lt;i&gt;</b></p>")
    }

    @Test func pathsEncodeEverySegmentAndQueryValue() {
        let path = ConsolePath("node").query([("id", "javascript:alert(1)/../x?y=1&z"), ("skip", nil)])
        #expect(path.text == "/console/node?id=javascript%3Aalert%281%29%2F..%2Fx%3Fy%3D1%26z")
        let html: HTML = "<a href=\"\(ConsolePath("nodes").query([("kind", "host"), ("status", "online")]))\">"
        #expect(html.text == "<a href=\"/console/nodes?kind=host&amp;status=online\">")
    }

    @Test func aNodeLinkIsAlwaysASameOriginPathWhateverTheID() {
        for id in ["javascript:alert(1)", "//evil.example/x", "\"><script>x</script>", "../../api/v1/keys", "data:text/html,x"] {
            let link = Layout.nodeLink(id).text
            #expect(link.hasPrefix("<a class=\"node-link\" href=\"/console/node?id="))
            #expect(!link.contains("<script>"))
            #expect(!link.contains("href=\"javascript") && !link.contains("href=\"//") && !link.contains("href=\"data"))
        }
    }
}

@Suite struct FormAndCookieTests {
    @Test func formFieldsAreDecoded() {
        let form = FormBody(Array("key=abc%2Bdef%3D%3D&label=two+words&label=second&empty=&bad=%zz%4".utf8))
        #expect(form["key"] == "abc+def==")
        #expect(form["label"] == "two words")
        #expect(form["empty"] == "")
        #expect(form["bad"] == "%zz%4")
        #expect(form["missing"] == nil)
    }

    @Test func cookiesAreSplitAndTheFirstOfANameWins() {
        let cookies = RequestCookies(header: "a=1; __Host-console_session=x.y.z; __Host-console_session=other; b")
        #expect(cookies["__Host-console_session"] == "x.y.z")
        #expect(cookies["a"] == "1")
        #expect(cookies["b"] == nil)
        #expect(RequestCookies(header: nil)["a"] == nil)
    }

    @Test func tokensCompareWholly() {
        #expect(WebConsole.constantTimeEqual("abc", "abc"))
        #expect(!WebConsole.constantTimeEqual("abc", "abd"))
        #expect(!WebConsole.constantTimeEqual("abc", "abcd"))
        #expect(!WebConsole.constantTimeEqual("", "a"))
    }

    @Test func sessionCookiesAreHttpOnlySecureAndStrict() {
        let cookie = WebConsole.cookie("__Host-console_session", "t", maxAge: 1800)
        #expect(cookie == "__Host-console_session=t; Path=/; Max-Age=1800; HttpOnly; Secure; SameSite=Strict")
    }

    @Test func everyPageForbidsInlineScriptAndForeignContent() {
        let response = WebConsole.page(.ok, "<p>x</p>")
        let policy = response.headers.first(name: "content-security-policy") ?? ""
        #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"))
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
        #expect(response.headers.first(name: "x-content-type-options") == "nosniff")
    }
}

@Suite struct ClusterHealthTests {
    typealias Member = (id: String, role: String, state: String, heartbeatAge: Int, shards: Int)

    @Test func aHealthyClusterHasNoReasons() {
        let members: [Member] = [("w1", "worker", "active", 500, 2048), ("w2", "worker", "active", 900, 2048), ("g1", "gateway", "active", 100, 0)]
        #expect(ClusterHealth.reasons(members: members, memberTimeoutMilliseconds: 10_000, unassigned: 0, shardCount: 4096, leader: "c1", unreachablePlacements: []).isEmpty)
    }

    @Test func eachProblemIsNamed() {
        let members: [Member] = [("w1", "worker", "active", 500, 3000), ("w2", "worker", "active", 6_000, 1000), ("w3", "worker", "active", 12_000, 96)]
        let reasons = ClusterHealth.reasons(
            members: members, memberTimeoutMilliseconds: 10_000, unassigned: 96, shardCount: 4096, leader: nil, unreachablePlacements: [1])
        #expect(reasons.contains { $0.hasPrefix("96 of 4096 shards have no owner") })
        #expect(reasons.contains { $0.hasPrefix("no coordinator holds the lease") })
        #expect(reasons.contains { $0.hasPrefix("worker w3 has not sent a heartbeat for 12 s") })
        #expect(reasons.contains { $0.hasPrefix("worker w2 is late") })
        #expect(reasons.contains { $0.hasPrefix("the map is unbalanced: workers hold from 1000 to 3000") })
        #expect(reasons.contains { $0 == "placement 1 does not answer" })
    }
}

@Suite struct JSONTreeTests {
    @Test func valuesReadByType() {
        let tree = JSONTree(parsing: #"{"t":true,"n":3,"s":"x","a":[1,"b"],"o":{"k":null}}"#)
        #expect(tree["t"].bool == true && tree["t"].int == nil)
        #expect(tree["n"].int == 3 && tree["n"].bool == nil)
        #expect(tree["s"].string == "x" && tree["s"].int == nil)
        #expect(tree["a"].array.map(\.text) == ["1", "b"])
        #expect(tree["o"]["k"].isNull && tree["missing"]["deeper"].text == "")
        #expect(JSONTree(parsing: "not json")["x"].isNull)
    }
}
