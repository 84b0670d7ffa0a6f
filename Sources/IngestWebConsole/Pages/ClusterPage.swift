import Foundation
import IngestCore
import IngestGateway

/// The cluster: its health with the reasons named, the leader and map version, the members
/// (heartbeat age judged by the coordinator's rule), the placements, and the recent map changes.
/// The page's script refreshes its main part every 5 s.
extension WebConsole {
    func cluster(_ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        // A placement that does not answer is named in the health line, not a failed page.
        let cluster = JSONTree(parsing: try await operations.cluster(partialCounts: true))
        let placements = await operations.placementNodeCounts()
        let changes = try await operations.mapChanges(limit: 15)
        let timeout = Int(configuration.memberTimeout.components.seconds * 1000)
        let members = cluster["members"].array
        let workers = Dictionary(cluster["workers"].array.map { ($0["id"].text, $0) }, uniquingKeysWith: { first, _ in first })
        let health = ClusterHealth.reasons(
            members: members.map { (id: $0["id"].text, role: $0["role"].text, state: $0["state"].text,
                                    heartbeatAge: $0["heartbeat_age_ms"].int ?? 0, shards: $0["shards"].int ?? 0) },
            memberTimeoutMilliseconds: timeout, unassigned: cluster["unassigned_shards"].int ?? 0,
            shardCount: cluster["shard_count"].int ?? 0, leader: cluster["leader"].string,
            unreachablePlacements: placements.indices.filter { placements[$0] == nil })
        let healthLine: HTML = health.isEmpty
            ? "<p class=\"health ok\" id=\"health\">Healthy: every shard owned, every member heartbeating, the map balanced, every placement reachable.</p>"
            : "<div class=\"health bad\" id=\"health\"><strong>Degraded:</strong><ul>\(health.map { "<li>\($0)</li>" as HTML })</ul></div>"
        let rates = activity.workerRates
        let memberRows: [HTML] = members.map { member in
            let age = member["heartbeat_age_ms"].int ?? 0
            let judged: HTML = age > timeout ? "<span class=\"badge bad\">dead</span>"
                : age > timeout / 2 ? "<span class=\"badge warn\">late</span>" : "<span class=\"badge ok\">live</span>"
            let stats = workers[member["id"].text]
            let nodes = stats.map { Layout.count($0["nodes"].int ?? 0) } ?? ""
            let rate = rates[member["id"].text].map { String(format: "%.1f", $0) } ?? ""
            let backlog = stats.map { Layout.count($0["backlog"].int ?? 0) } ?? ""
            return """
                <tr><td>\(member["id"].text)</td><td>\(member["role"].text)</td><td>\(member["state"].text)</td>
                <td>\(member["address"].text)</td><td>\(Layout.count(age)) ms \(judged)</td>
                <td>\(member["role"].text == "worker" ? Layout.count(member["shards"].int ?? 0) : "")</td>
                <td>\(nodes)</td><td>\(rate)</td><td>\(backlog)</td></tr>
                """
        }
        let placementRows: [HTML] = placements.enumerated().map { index, count in
            let state: HTML = count == nil ? "<span class=\"badge bad\">unreachable</span>" : "<span class=\"badge ok\">reachable</span>"
            return "<tr><td>\(index)</td><td>\(count.map(Layout.count) ?? "")</td><td>\(state)</td></tr>"
        }
        let changeRows: [HTML] = changes.map { change in
            let moves = JSONTree(parsing: change.moves).array.map { move -> String in
                "\(move["from"].string ?? "(none)") → \(move["to"].string ?? "(none)"): \(move["shards"].int ?? 0)"
            }
            return """
                <tr><td>\(change.version)</td><td>\(Layout.time(RFC3339.format(change.at)))</td><td>\(change.leader)</td>
                <td>\(moves.joined(separator: "; "))</td></tr>
                """
        }
        let body: HTML = """
            <div data-refresh="5"><h1>Cluster</h1>\(healthLine)
            <p>Leader: <strong id="leader">\(cluster["leader"].string ?? "none")</strong> · map version <strong id="map-version">\(cluster["map_version"].int ?? -1)</strong>
            · \(Layout.count(cluster["shard_count"].int ?? 0)) shards, \(Layout.count(cluster["unassigned_shards"].int ?? 0)) without an owner</p>
            <h2>Members</h2>
            <table id="members"><thead><tr><th>Member</th><th>Role</th><th>State</th><th>Address</th><th>Heartbeat age</th><th>Shards</th>
            <th>Nodes</th><th>Reports/s</th><th>Backlog</th></tr></thead><tbody>\(memberRows)</tbody></table>
            <p class="muted">A member is dead to the coordinator after \(timeout / 1000) s without a heartbeat (--member-timeout); late after half that.
            Nodes: those of the worker's shards it holds state for. Reports/s: committed over this gateway's last sample interval.</p>
            <h2>Placements</h2>
            <table id="placements"><thead><tr><th>Placement</th><th>Nodes</th><th></th></tr></thead><tbody>\(placementRows)</tbody></table>
            <h2>Recent map changes</h2>
            \(changeRows.isEmpty ? "<p class=\"muted\">None recorded.</p>" as HTML : "<table id=\"map-changes\"><thead><tr><th>Version</th><th>Published</th><th>By</th><th>Shards moved</th></tr></thead><tbody>\(changeRows)</tbody></table>")
            </div>
            """
        return ("Cluster", body)
    }
}

/// Why a cluster is degraded, in words, from what the cluster page reads.
enum ClusterHealth {
    static func reasons(
        members: [(id: String, role: String, state: String, heartbeatAge: Int, shards: Int)], memberTimeoutMilliseconds: Int,
        unassigned: Int, shardCount: Int, leader: String?, unreachablePlacements: [Int]
    ) -> [String] {
        var reasons: [String] = []
        if unassigned > 0 { reasons.append("\(unassigned) of \(shardCount) shards have no owner: their nodes' reports get 503 until one takes them") }
        if leader == nil { reasons.append("no coordinator holds the lease: nothing reassigns shards if a worker fails") }
        for member in members where member.heartbeatAge > memberTimeoutMilliseconds {
            reasons.append("\(member.role) \(member.id) has not sent a heartbeat for \(member.heartbeatAge / 1000) s (dead by the coordinator's rule)")
        }
        for member in members where member.heartbeatAge <= memberTimeoutMilliseconds && member.heartbeatAge > memberTimeoutMilliseconds / 2 {
            reasons.append("\(member.role) \(member.id) is late: last heartbeat \(member.heartbeatAge / 1000) s ago")
        }
        let workers = members.filter { $0.role == "worker" && $0.state == "active" && $0.heartbeatAge <= memberTimeoutMilliseconds }
        if workers.count > 1, let most = workers.map(\.shards).max(), let least = workers.map(\.shards).min() {
            let fair = shardCount / workers.count
            if most - least > max(2, fair / 10) {
                reasons.append("the map is unbalanced: workers hold from \(least) to \(most) shards (a fair share is about \(fair))")
            }
        }
        for placement in unreachablePlacements { reasons.append("placement \(placement) does not answer") }
        return reasons
    }
}
