/// A sensor's control poll, as the gateway hands it to the owner of the node's shard.
public struct ControlsRequest: Sendable, Hashable {
    /// Which controls route the sensor called.
    public enum Route: String, Sendable, Hashable {
        /// `POST /deepfence/controls/agent-init`: once, after the sensor starts.
        case agentInit = "agent-init"
        /// `POST /deepfence/controls/agent`: every beat/2.
        case agent
        /// `POST /deepfence/controls/kubernetes-cluster`: a cluster sensor's poll.
        case kubernetesCluster = "kubernetes-cluster"
    }

    public var route: Route
    public var nodeID: String
    /// What the sensor said it can take on (`available_workload`).
    public var availableWorkload: Int
    /// The sensor's version (agent-init only).
    public var version: String?
    /// The shortest beat the gateway wants the sensor told (see ``ParsedReport/beatFloor``).
    public var beatFloor: Int

    public init(route: Route, nodeID: String, availableWorkload: Int, version: String? = nil, beatFloor: Int = 0) {
        self.route = route
        self.nodeID = nodeID
        self.availableWorkload = availableWorkload
        self.version = version
        self.beatFloor = beatFloor
    }
}

/// One command handed to a sensor: a ThreatMapper action ID and its JSON payload as a string.
public struct AgentCommand: Sendable, Hashable {
    /// The stored command's ID (not sent to the sensor).
    public var commandID: Int64
    /// The ThreatMapper action (``ThreatMapperAction``).
    public var actionID: Int
    /// The action's request, a JSON document in a string, as ThreatMapper sends it.
    public var requestPayload: String

    public init(commandID: Int64, actionID: Int, requestPayload: String) {
        self.commandID = commandID
        self.actionID = actionID
        self.requestPayload = requestPayload
    }
}

/// The answer to a control poll.
public struct AgentControls: Sendable, Hashable {
    public var beatRate: Int
    public var commands: [AgentCommand]

    public init(beatRate: Int, commands: [AgentCommand]) {
        self.beatRate = beatRate
        self.commands = commands
    }
}

/// What a gateway needs of the worker owning a shard. In `all-in-one` it is the worker itself;
/// in a cluster, a client that forwards over the internal HTTP/2 connection.
///
/// Completions may be called on any thread, exactly once.
public protocol ShardOwner: Sendable {
    /// Ingests a parsed report of a node in `shard`, which the caller believes is owned at
    /// `epoch`; completes with the beat rate once the report is committed.
    func submit(
        _ report: ParsedReport, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void)

    /// Answers a control poll from memory (delivering pending commands exactly once).
    func controls(
        _ request: ControlsRequest, shard: Int, epoch: Int64,
        completion: @escaping @Sendable (Result<AgentControls, IngestError>) -> Void)

    /// Queues a command for a node; returns the stored command.
    func queueCommand(nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String) async throws
        -> AgentCommand

    /// Stores one node's findings, scan statuses or cloud resources; completes with the number
    /// of records once committed.
    func submitFindings(
        _ part: FindingsPart, shard: Int, epoch: Int64, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void)

    /// Queues a scan (`QUEUED`) with its start command; throws ``IngestError/scanInProgress(_:kind:)``
    /// while the node has a scan of that kind that has not ended.
    func queueScan(
        _ scanID: String, kind: FindingKind, nodeID: String, shard: Int, epoch: Int64, actionID: Int, requestPayload: String
    ) async throws -> AgentCommand
}
