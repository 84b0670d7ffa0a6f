import Testing
@testable import IngestCore

struct JSONObjectTests {
    @Test func readsMembers() throws {
        let object = try JSONObject(parsing: Array(#" {"node_id":"h\u00e9","available_workload":2,"x":1.5,"ok":true,"n":null,"p":{"a":[1,2]}} "#.utf8))
        #expect(object["node_id"]?.string == "hé")
        #expect(object["available_workload"]?.int == 2)
        #expect(object["x"]?.int == nil)
        #expect(object["x"]?.kind == .number)
        #expect(object["ok"]?.bool == true)
        #expect(object["n"]?.kind == .null)
        #expect(object["p"]?.raw == #"{"a":[1,2]}"#)
        #expect(object["missing"] == nil)
    }

    @Test(arguments: ["", "[]", "{", #"{"a":}"#, #"{"a":1}x"#, #"{"a":01}"#, "{'a':1}", #"{"a":"\u0000"}"#])
    func rejectsNonObjects(_ text: String) {
        #expect(throws: IngestError.self) { try JSONObject(parsing: Array(text.utf8)) }
    }
}
