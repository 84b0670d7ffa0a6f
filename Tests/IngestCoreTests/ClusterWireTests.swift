import Testing
@testable import IngestCore

struct ClusterWireTests {
    @Test func controlsRoundTrip() throws {
        let request = ControlsRequest(route: .agentInit, nodeID: "host \"1\"", availableWorkload: 3, version: "2.5.0")
        #expect(try ClusterWire.controlsRequest(Array(ClusterWire.json(request).utf8)) == request)
        // A gateway's beat floor travels with the poll.
        let stretched = ControlsRequest(route: .agent, nodeID: "h", availableWorkload: 0, beatFloor: 240)
        #expect(try ClusterWire.controlsRequest(Array(ClusterWire.json(stretched).utf8)).beatFloor == 240)
        let answer = AgentControls(beatRate: 45, commands: [
            AgentCommand(commandID: 9, actionID: 0, requestPayload: #"{"node_id":"h"}"#),
            AgentCommand(commandID: 10, actionID: 4, requestPayload: "{}"),
        ])
        #expect(try ClusterWire.controlsAnswer(Array(ClusterWire.json(answer).utf8)) == answer)
        #expect(try ClusterWire.controlsAnswer(Array(ClusterWire.json(AgentControls(beatRate: 30, commands: [])).utf8)).commands.isEmpty)
    }

    @Test func commandRoundTrip() throws {
        let text = ClusterWire.commandJSON(nodeID: "n", actionID: 2, requestPayload: #"{"a":[1,2]}"#)
        let command = try ClusterWire.command(Array(text.utf8))
        #expect(command.nodeID == "n" && command.actionID == 2 && command.requestPayload == #"{"a":[1,2]}"#)
    }

    @Test(arguments: [("secret", true), ("secreT", false), ("secre", false), ("secrets", false), ("", false)])
    func tokenComparison(given: String, matches: Bool) {
        #expect(ClusterWire.tokensMatch(given, "secret") == matches)
        #expect(!ClusterWire.tokensMatch(nil, "secret"))
    }

    @Test func malformedAnswersAreErrors() {
        #expect(throws: IngestError.self) { try ClusterWire.controlsAnswer(Array(#"{"beatrate":1}"#.utf8)) }
        #expect(throws: IngestError.self) { try ClusterWire.controlsRequest(Array(#"{"route":"nope","node_id":"n","available_workload":0}"#.utf8)) }
    }
}
