/// The internal API between gateways and workers: paths, headers and the JSON bodies, in one
/// place for both ends.
///
/// ## Overview
/// A gateway forwards each sensor request on a long-lived HTTP/2 connection to the worker that
/// owns the node's shard. The request names the node, shard, epoch and map version in headers,
/// and carries the cluster token (a catalog secret, compared in constant time). Errors come
/// back as the public error JSON (`code`, `message`, `setting`), so the gateway relays the
/// worker's stable code to the sensor or retries on `shard_moved` / `unavailable`.
public enum ClusterWire {
    /// `POST`: the report body as the sensor sent it (gzip), with its `content-encoding`.
    public static let reportPath = "/internal/v1/report"
    /// `POST`: ``ControlsRequest`` as JSON → ``AgentControls`` as JSON.
    public static let controlsPath = "/internal/v1/controls"
    /// `POST`: `{"node_id", "action_id", "request_payload"}` → `{"command_id"}`.
    public static let commandsPath = "/internal/v1/commands"
    /// `GET`: the worker's counters as JSON.
    public static let statsPath = "/internal/v1/stats"

    public static let tokenHeader = "x-cluster-token"
    public static let nodeHeader = "x-node-id"
    public static let shardHeader = "x-shard"
    public static let epochHeader = "x-epoch"
    public static let mapVersionHeader = "x-map-version"
    /// A forwarded report's ``ParsedReport/beatFloor``, when not 0.
    public static let beatFloorHeader = "x-beat-floor"

    /// A controls request as JSON.
    public static func json(_ request: ControlsRequest) -> String {
        var text = #"{"route":"\#(request.route.rawValue)","node_id":"# + JSONText.quoted(request.nodeID)
            + #","available_workload":\#(request.availableWorkload)"#
        if let version = request.version { text += #","version":"# + JSONText.quoted(version) }
        if request.beatFloor > 0 { text += #","beat_floor":\#(request.beatFloor)"# }
        return text + "}"
    }

    /// Reads a controls request written by ``json(_:)-swift.type.method``.
    public static func controlsRequest(_ bytes: [UInt8]) throws(IngestError) -> ControlsRequest {
        let object = try JSONObject(parsing: bytes)
        guard let routeName = object["route"]?.string, let route = ControlsRequest.Route(rawValue: routeName),
            let nodeID = object["node_id"]?.string, let workload = object["available_workload"]?.int
        else { throw .invalidRequest("internal controls request: route, node_id and available_workload are required") }
        return ControlsRequest(
            route: route, nodeID: nodeID, availableWorkload: workload, version: object["version"]?.string,
            beatFloor: object["beat_floor"]?.int ?? 0)
    }

    /// A controls answer as JSON (command IDs included, which sensors never see).
    public static func json(_ answer: AgentControls) -> String {
        let commands = answer.commands.map {
            #"{"command_id":\#($0.commandID),"action_id":\#($0.actionID),"request_payload":"# + JSONText.quoted($0.requestPayload) + "}"
        }
        return #"{"beatrate":\#(answer.beatRate),"commands":[\#(commands.joined(separator: ","))]}"#
    }

    /// Reads a controls answer written by ``json(_:)-swift.type.method``.
    public static func controlsAnswer(_ bytes: [UInt8]) throws(IngestError) -> AgentControls {
        let object = try JSONObject(parsing: bytes)
        guard let beatRate = object["beatrate"]?.int, let list = object["commands"], list.kind == .array else {
            throw .invalidRequest("internal controls answer: beatrate and commands are required")
        }
        var commands: [AgentCommand] = []
        for element in try JSONObject.elements(ofArray: list.raw) {
            let command = try JSONObject(parsing: Array(element.utf8))
            guard let id = command["command_id"]?.int, let action = command["action_id"]?.int,
                let payload = command["request_payload"]?.string
            else { throw .invalidRequest("internal controls answer: a command needs command_id, action_id, request_payload") }
            commands.append(AgentCommand(commandID: Int64(id), actionID: action, requestPayload: payload))
        }
        return AgentControls(beatRate: beatRate, commands: commands)
    }

    /// A command to queue, as JSON.
    public static func commandJSON(nodeID: String, actionID: Int, requestPayload: String) -> String {
        #"{"node_id":"# + JSONText.quoted(nodeID) + #","action_id":\#(actionID),"request_payload":"#
            + JSONText.quoted(requestPayload) + "}"
    }

    /// Reads a command written by ``commandJSON(nodeID:actionID:requestPayload:)``.
    public static func command(_ bytes: [UInt8]) throws(IngestError) -> (nodeID: String, actionID: Int, requestPayload: String) {
        let object = try JSONObject(parsing: bytes)
        guard let nodeID = object["node_id"]?.string, let action = object["action_id"]?.int,
            let payload = object["request_payload"]?.string
        else { throw .invalidRequest("internal command: node_id, action_id and request_payload are required") }
        return (nodeID, action, payload)
    }

    /// Compares two tokens in time independent of where they differ.
    public static func tokensMatch(_ given: String?, _ expected: String) -> Bool {
        guard let given else { return false }
        let (a, b) = (Array(given.utf8), Array(expected.utf8))
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
