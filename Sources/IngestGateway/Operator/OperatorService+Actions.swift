import Foundation
import IngestAuth
import IngestCore
import IngestStorage

/// What an operator does: queue a command or a scan through the node's owner, and manage API keys.
extension OperatorService {
    /// Queues a ThreatMapper action (not a scan's start) for the node; returns the command as JSON.
    public func queueCommand(_ nodeID: String, action: ThreatMapperAction, payload: String) async throws(IngestError) -> String {
        let node = try await nodeRecord(nodeID)
        let kind = NodeKind(rawValue: node.kind) ?? .host
        guard action.isSupported(by: kind) else {
            throw IngestError.invalidRequest("\(action.name) is not an action a \(kind.rawValue) sensor runs")
        }
        let command = try await forwarder.call(nodeID) { route in
            try await route.owner.queueCommand(
                nodeID: nodeID, shard: route.shard, epoch: route.epoch, actionID: action.rawValue, requestPayload: payload)
        }
        return #"{"id":\#(command.commandID),"node_id":\#(JSONText.quoted(nodeID)),"action_id":\#(action.rawValue),"action":"\#(action.name)","request_payload":\#(JSONText.quoted(payload))}"#
    }

    /// Stores the scan as `QUEUED` with its start command (the payload's `bin_args.scan_id` set to
    /// the new scan's ID), through the node's owner; `scan_running` (409) while the node has a
    /// scan of that kind that has not ended. Returns the scan's ID and the answer as JSON.
    public func queueScan(_ nodeID: String, kind: FindingKind, payload: String?) async throws(IngestError) -> (scanID: String, json: String) {
        guard let action = kind.startAction else {
            let startable = FindingKind.allCases.filter { $0.startAction != nil }
            throw IngestError.invalidRequest("kind: one of \(startable.map(\.rawValue).joined(separator: ", "))")
        }
        let payload = payload ?? Self.defaultPayload(nodeID: nodeID)
        let node = try await nodeRecord(nodeID)
        let nodeKind = NodeKind(rawValue: node.kind) ?? .host
        guard action.isSupported(by: nodeKind) else {
            throw IngestError.invalidRequest("\(action.name) is not an action a \(nodeKind.rawValue) sensor runs")
        }
        // A new ID is drawn while the one drawn is taken (scans of the node queued in the same millisecond).
        var attempt = 0
        while true {
            attempt += 1
            let scanID = ScanID.make(nodeID: nodeID, at: clock.now())
            let withScan = try Self.payload(payload, scanID: scanID, nodeID: nodeID)
            let command: AgentCommand
            do throws(IngestError) {
                command = try await forwarder.call(nodeID) { route in
                    try await route.owner.queueScan(
                        scanID, kind: kind, nodeID: nodeID, shard: route.shard, epoch: route.epoch, actionID: action.rawValue,
                        requestPayload: withScan)
                }
            } catch where error.code == .scanIDTaken && attempt < 5 {
                continue
            }
            return (scanID, #"{"scan_id":\#(JSONText.quoted(scanID)),"kind":"\#(kind.rawValue)","status":"QUEUED","id":\#(command.commandID),"node_id":\#(JSONText.quoted(nodeID)),"action_id":\#(action.rawValue),"action":"\#(action.name)","request_payload":\#(JSONText.quoted(withScan))}"#)
        }
    }

    /// The payload an action gets when the operator gives none: `{"node_id": <id>, "node_type": 2, "bin_args": {}}`.
    public static func defaultPayload(nodeID: String) -> String {
        #"{"node_id":\#(JSONText.quoted(nodeID)),"node_type":2,"bin_args":{}}"#
    }

    /// The payload with `bin_args.scan_id` (and `bin_args.node_id`, `node_id` when missing) set:
    /// where ThreatMapper sensors read the scan they run.
    static func payload(_ text: String, scanID: String, nodeID: String) throws(IngestError) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
        }
        if object["bin_args"] != nil && !(object["bin_args"] is [String: Any]) {
            throw IngestError.invalidRequest("request_payload.bin_args: a JSON object")
        }
        var binArgs = object["bin_args"] as? [String: Any] ?? [:]
        binArgs["scan_id"] = scanID
        if binArgs["node_id"] == nil { binArgs["node_id"] = nodeID }
        object["bin_args"] = binArgs
        if object["node_id"] == nil { object["node_id"] = nodeID }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw IngestError.invalidRequest("request_payload: a JSON object, or a string holding one")
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: API keys

    /// Every API key, revoked ones included (hashes only: a key is shown once, when created).
    public func apiKeys() async throws(IngestError) -> [CatalogStore.APIKeyRecord] {
        let catalog = self.catalog
        return try await Self.storage { try await catalog.apiKeys() }
    }

    /// The most characters a key's label may hold.
    public static let maxLabelLength = 200

    /// Creates a key; returns its ID and the key itself (the only time it is shown).
    public func createKey(role: APIRole, label: String) async throws(IngestError) -> (id: Int64, key: APIKey) {
        guard label.count <= Self.maxLabelLength, !label.contains("\0") else {
            throw IngestError.invalidRequest("label: at most \(Self.maxLabelLength) characters, no NUL")
        }
        let key = APIKey.generate()
        let catalog = self.catalog
        let id = try await Self.storage {
            try await catalog.insertAPIKey(role: role.rawValue, namespace: key.namespace, keyHash: key.hash, label: label)
        }
        return (id, key)
    }

    /// Revokes a key: its logins and tokens stop working on every gateway as the notification
    /// arrives. `noSuch("api key")` when there is no such unrevoked key. An operator cannot
    /// revoke the key they are signed in with (`caller`): that would lock them out mid-task, and
    /// with the last admin key, everyone.
    public func revokeKey(id: Int64, by caller: Int64) async throws(IngestError) {
        guard id != caller else {
            throw IngestError.invalidRequest("this is the key you are signed in with: sign in with another admin key to revoke it")
        }
        let catalog = self.catalog
        guard try await Self.storage({ try await catalog.revokeAPIKey(id: id) }) else { throw IngestError.noSuch("api key") }
    }
}
