import Foundation
import IngestCore
import IngestGateway
import IngestStorage
import IngestTransport

/// One node: what it is and when it was seen, its topology (host → containers → processes; a
/// cluster's pods by namespace), its connections grouped by peer, its findings, scans and
/// commands, forms to queue a scan or a command, and what changed on it, newest first.
extension WebConsole {
    func node(_ request: HTTPRequest, _ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        guard let nodeID = request.queryParameter("id"), !nodeID.isEmpty, !nodeID.contains("\0") else {
            throw IngestError.invalidRequest("id: the node's ID")
        }
        var changeFilter = PlacementStore.ChangeFilter(limit: 100)
        let changeKind = request.queryParameter("change_kind").flatMap { $0.isEmpty ? nil : $0 }
        if let changeKind {
            guard changeKind == "node" || EntityKind(name: changeKind) != nil else { throw IngestError.invalidRequest("change_kind: a kind of entity") }
            changeFilter.kind = changeKind
        }
        if let since = request.queryParameter("since").flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let hours = Int(since), (1...24 * 31).contains(hours) else { throw IngestError.invalidRequest("since: 1 to 744 hours") }
            changeFilter.since = Date(timeIntervalSince1970: Double(clock.now().milliseconds) / 1000 - Double(hours) * 3600)
        }
        if let after = request.queryParameter("changes_after").flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let cursor = ChangeCursor(after) else { throw IngestError.invalidRequest("changes_after: a cursor from the page before") }
            changeFilter.after = cursor
        }
        let detail = JSONTree(parsing: try await operations.node(nodeID))
        let changes = try await operations.changes(of: nodeID, changeFilter)
        let findings = JSONTree(parsing: try await operations.findingCounts(of: nodeID))
        let scans = try await operations.scans(PlacementStore.ScanFilter(nodeID: nodeID, limit: 20))
        let node = detail["node"]
        let kind = NodeKind(rawValue: node["kind"].text) ?? .host
        let queued = request.queryParameter("queued").map { text -> HTML in "<p class=\"notice\" id=\"queued\">Queued: \(text). The sensor receives it on its next control poll.</p>" } ?? ""
        let body: HTML = """
            <h1 class="node-title">\(nodeID)</h1>
            \(queued)
            <p>\(Self.kindName(node["kind"].text)) · \(Layout.liveness(node["online"].bool)) · last seen \(Layout.time(node["last_seen"].string))
            · first seen \(Layout.time(node["first_seen"].string)) · beat \(node["beat_rate"].int ?? 0) s · shard \(node["shard"].int ?? 0)</p>
            \(Self.hostFacts(detail))
            <div class="cards">
            <section class="card"><h2>Queue a scan</h2>\(Self.scanForm(nodeID, kind: kind, session: session))</section>
            <section class="card"><h2>Queue a command</h2>\(Self.commandForm(nodeID, kind: kind, session: session))</section>
            </div>
            <section><h2>Findings</h2>\(Self.findingCounts(findings["latest"]))</section>
            <section><h2>Scans</h2>\(Self.scanTable(scans.items.map { JSONTree(parsing: $0.json) }))
            <p><a href="\(ConsolePath("scans").query([("node", nodeID)]))">All scans of this node</a></p></section>
            <section><h2>Commands</h2>\(Self.commandTable(detail["commands"]))</section>
            <section><h2>Topology</h2>\(kind == .kubernetesCluster ? Self.clusterTopology(detail) : Self.hostTopology(detail))</section>
            <section><h2>Connections by peer</h2>\(Self.connections(detail))</section>
            <section id="changes"><h2>What changed</h2>\(Self.changeTimeline(nodeID, changes, filter: changeFilter, kind: changeKind, since: request.queryParameter("since")))</section>
            """
        return (nodeID, body)
    }

    static func hostFacts(_ detail: JSONTree) -> HTML {
        guard let host = detail["hosts"].array.first else { return "" }
        let metadata = host["metadata"]
        let facts: [(String, String)] = [
            ("OS", metadata["os"].text), ("Kernel", metadata["kernel_version"].text), ("Sensor version", metadata["version"].text),
            ("Cloud", [metadata["cloud_provider"].text, metadata["cloud_region"].text].filter { !$0.isEmpty }.joined(separator: " / ")),
            ("Public IP", metadata["public_ip"].array.map(\.text).joined(separator: ", ")),
            ("Private IP", metadata["private_ip"].array.map(\.text).joined(separator: ", ")),
        ].filter { !$0.1.isEmpty }
        guard !facts.isEmpty else { return "" }
        return "<dl class=\"facts\">\(facts.map { "<dt>\($0.0)</dt><dd>\($0.1)</dd>" as HTML })</dl>"
    }

    static func scanForm(_ nodeID: String, kind: NodeKind, session: Session) -> HTML {
        let kinds = FindingKind.allCases.filter { $0.startAction?.isSupported(by: kind) == true }
        guard !kinds.isEmpty else { return "<p class=\"muted\">No scan runs on this kind of node.</p>" }
        return """
            <form method="post" action="/console/node/scan">\(Layout.csrfField(session))<input type="hidden" name="id" value="\(nodeID)">
            <select name="kind" id="scan-kind">\(Layout.options(kinds.map { ($0.rawValue, $0.rawValue) }, selected: nil))</select>
            <button type="submit" id="queue-scan">Queue scan</button></form>
            """
    }

    static func commandForm(_ nodeID: String, kind: NodeKind, session: Session) -> HTML {
        let actions = ThreatMapperAction.allCases.filter { FindingKind(startedBy: $0) == nil && $0.isSupported(by: kind) }
        guard !actions.isEmpty else { return "<p class=\"muted\">No command runs on this kind of node.</p>" }
        return """
            <form method="post" action="/console/node/command">\(Layout.csrfField(session))<input type="hidden" name="id" value="\(nodeID)">
            <select name="action" id="command-action">\(Layout.options(actions.map { ($0.name, $0.name) }, selected: nil))</select>
            <button type="submit" id="queue-command">Queue command</button></form>
            """
    }

    static func findingCounts(_ latest: JSONTree) -> HTML {
        let kinds = latest.members
        guard !kinds.isEmpty else { return "<p class=\"muted\">No scan has reported findings.</p>" }
        let rows: [HTML] = kinds.map { kind, scan in
            let counts = scan["counts"].members.map { "\($0.key) \($0.value.int ?? 0)" }.joined(separator: " · ")
            return "<tr><td>\(kind)</td><td>\(Layout.scanLink(scan["scan_id"].text))</td><td>\(scan["status"].text)</td><td>\(scan["findings"].int ?? 0)</td><td>\(counts)</td></tr>"
        }
        return "<table id=\"finding-counts\"><thead><tr><th>Kind</th><th>Latest scan</th><th>Status</th><th>Findings</th><th>By grade</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    static func scanTable(_ scans: [JSONTree]) -> HTML {
        guard !scans.isEmpty else { return "<p class=\"muted\">No scans.</p>" }
        let rows: [HTML] = scans.map { scan in
            """
            <tr><td>\(Layout.scanLink(scan["id"].text))</td><td>\(Layout.nodeLink(scan["node_id"].text))</td><td>\(scan["kind"].text)</td>
            <td>\(scan["status"].text)</td><td>\(scan["findings"].int ?? 0)</td><td>\(Layout.time(scan["created_at"].string))</td></tr>
            """
        }
        return "<table class=\"scans\"><thead><tr><th>Scan</th><th>Node</th><th>Kind</th><th>Status</th><th>Findings</th><th>Created</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    static func commandTable(_ commands: JSONTree) -> HTML {
        let list = commands.array
        guard !list.isEmpty else { return "<p class=\"muted\">No commands.</p>" }
        let rows: [HTML] = list.map { command in
            let name = (command["action_id"].int).flatMap(ThreatMapperAction.init(rawValue:))?.name ?? command["action_id"].text
            let delivered: HTML = command["delivered_at"].isNull ? "<span class=\"badge warn\">waiting for the next poll</span>" : Layout.time(command["delivered_at"].string)
            return "<tr><td>\(command["id"].int ?? 0)</td><td>\(name)</td><td>\(Layout.time(command["created_at"].string))</td><td>\(delivered)</td></tr>"
        }
        return "<table id=\"commands\"><thead><tr><th>ID</th><th>Action</th><th>Queued</th><th>Delivered</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    /// host → containers → processes: each container with the processes whose parent it is,
    /// then the processes in no container.
    static func hostTopology(_ detail: JSONTree) -> HTML {
        let containers = detail["containers"].array
        let processes = detail["processes"].array
        var byContainer: [String: [JSONTree]] = [:]
        var outside: [JSONTree] = []
        // A process names its container by the container's ID or by the runtime's ID, which a
        // container's ID ends with after a "-" (`<host>-<runtime id>`): both looked up at once.
        var owners: [String: String] = [:]
        for container in containers {
            let id = container["id"].text
            if let dash = id.lastIndex(of: "-") { owners[String(id[id.index(after: dash)...])] = owners[String(id[id.index(after: dash)...])] ?? id }
            owners[id] = id
        }
        for process in processes {
            let parent = process["parents"]["container"]
            let parentID = parent.string ?? parent.array.first?.string
            if let parentID, let owner = owners[parentID] {
                byContainer[owner, default: []].append(process)
            } else {
                outside.append(process)
            }
        }
        let containerBlocks: [HTML] = containers.map { container in
            let metadata = container["metadata"]
            let name = metadata["docker_container_name"].string ?? metadata["node_name"].text
            let image = metadata["docker_image_id"].text
            let own = byContainer[container["id"].text] ?? []
            return """
                <details class="container"><summary><strong>\(name)</strong> <span class="muted">\(metadata["docker_container_state"].text) · \(own.count) processes · image \(String(image.prefix(19)))</span></summary>
                \(processTable(own))</details>
                """
        }
        return """
            <p>\(containers.count) containers, \(processes.count) processes, \(detail["container_images"].array.count) images.</p>
            \(containerBlocks)
            <details class="container" open><summary><strong>On the host</strong> <span class="muted">\(outside.count) processes in no container</span></summary>\(processTable(outside))</details>
            """
    }

    static func processTable(_ processes: [JSONTree]) -> HTML {
        guard !processes.isEmpty else { return "<p class=\"muted\">None.</p>" }
        let sorted = processes.sorted { ($0["metadata"]["pid"].int ?? 0) < ($1["metadata"]["pid"].int ?? 0) }
        let rows: [HTML] = sorted.map { process in
            let metadata = process["metadata"]
            return "<tr><td>\(metadata["pid"].text)</td><td>\(metadata["node_name"].text)</td><td class=\"cmdline\">\(metadata["cmdline"].text)</td><td>\(metadata["threads"].text)</td></tr>"
        }
        return "<table class=\"processes\"><thead><tr><th>PID</th><th>Name</th><th>Command line</th><th>Threads</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    /// A cluster's pods by namespace, and its services.
    static func clusterTopology(_ detail: JSONTree) -> HTML {
        var byNamespace: [String: [JSONTree]] = [:]
        for pod in detail["pods"].array { byNamespace[pod["metadata"]["kubernetes_namespace"].text, default: []].append(pod) }
        let blocks: [HTML] = byNamespace.keys.sorted().map { namespace in
            let rows: [HTML] = byNamespace[namespace]!.map { pod in
                let metadata = pod["metadata"]
                return "<tr><td>\(metadata["node_name"].text)</td><td>\(metadata["kubernetes_state"].text)</td><td>\(metadata["host_name"].text)</td></tr>"
            }
            return """
                <details class="container"><summary><strong>\(namespace.isEmpty ? "(no namespace)" : namespace)</strong> <span class="muted">\(rows.count) pods</span></summary>
                <table><thead><tr><th>Pod</th><th>State</th><th>Host</th></tr></thead><tbody>\(rows)</tbody></table></details>
                """
        }
        return "<p>\(detail["namespaces"].array.count) namespaces, \(detail["pods"].array.count) pods, \(detail["services"].array.count) services.</p>\(blocks)"
    }

    /// Connections grouped by the peer's address (an endpoint ID is `scope;address;port`), the
    /// busiest first, with the ports they reach.
    static func connections(_ detail: JSONTree) -> HTML {
        var peers: [String: (count: Int, ports: Set<String>)] = [:]
        for connection in detail["connections"].array {
            let parts = connection["destination"].text.split(separator: ";", omittingEmptySubsequences: false)
            let peer = parts.count >= 3 ? String(parts[parts.count - 2]) : connection["destination"].text
            var entry = peers[peer] ?? (0, [])
            entry.count += 1
            if parts.count >= 3 { entry.ports.insert(String(parts[parts.count - 1])) }
            peers[peer] = entry
        }
        guard !peers.isEmpty else { return "<p class=\"muted\">No connections.</p>" }
        let shown = peers.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }.prefix(200)
        let rows: [HTML] = shown.map { peer, entry in
            let ports = entry.ports.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
            let portText = ports.prefix(8).joined(separator: ", ") + (ports.count > 8 ? " and \(ports.count - 8) more" : "")
            return "<tr><td>\(peer)</td><td>\(entry.count)</td><td>\(portText)</td></tr>"
        }
        let more: HTML = peers.count > 200 ? "<p class=\"muted\">The 200 busiest of \(peers.count) peers.</p>" : ""
        return """
            <p>\(detail["connections"].array.count) connections to \(peers.count) peers; \(detail["endpoints"].array.count) endpoints.</p>
            <table id="connections"><thead><tr><th>Peer</th><th>Connections</th><th>Ports</th></tr></thead><tbody>\(rows)</tbody></table>\(more)
            """
    }

    static func changeTimeline(
        _ nodeID: String, _ changes: (items: [String], next: ChangeCursor?), filter: PlacementStore.ChangeFilter, kind: String?, since: String?
    ) -> HTML {
        let kinds: [(value: String, label: String)] = [("", "all kinds"), ("node", "node")] + EntityKind.allCases.map { ($0.name, $0.name) }
        let windows: [(value: String, label: String)] = [("", "all kept"), ("1", "last hour"), ("24", "last day"), ("168", "last week")]
        let rows: [HTML] = changes.items.map { text in
            let change = JSONTree(parsing: text)
            let word = change["change"].text
            return "<tr class=\"change \(word)\"><td>\(Layout.time(change["at"].string))</td><td>\(change["kind"].text)</td><td><span class=\"badge \(word == "vanished" ? "bad" : word == "appeared" ? "ok" : "warn")\">\(word)</span></td><td class=\"cmdline\">\(change["entity_id"].text)</td></tr>"
        }
        let base = ConsolePath("node")
        let next: HTML = changes.next.map {
            "<a class=\"button\" href=\"\(base.query([("id", nodeID), ("change_kind", kind), ("since", since), ("changes_after", $0.description)]))#changes\">Older →</a>"
        } ?? ""
        return """
            <form method="get" action="/console/node" class="filters"><input type="hidden" name="id" value="\(nodeID)">
            <label>Kind <select name="change_kind" id="change-kind">\(Layout.options(kinds, selected: kind))</select></label>
            <label>Within <select name="since">\(Layout.options(windows, selected: since))</select></label>
            <button type="submit">Show</button></form>
            \(rows.isEmpty ? "<p class=\"muted\">No change recorded\(filter.kind == nil ? "" : " of that kind") (a node's first report is one \"node appeared\" row; the log keeps --change-log-retention).</p>" as HTML
              : "<table id=\"change-log\"><thead><tr><th>When</th><th>Kind</th><th>Change</th><th>Entity</th></tr></thead><tbody>\(rows)</tbody></table>")
            <p class="pager">\(next)</p>
            """
    }

    // MARK: Forms

    /// `POST /console/node/scan` (`id`, `kind`): queues the scan; back to the node's page.
    func queueScan(_ form: FormBody) async throws(IngestError) -> String {
        guard let nodeID = form["id"], !nodeID.isEmpty, !nodeID.contains("\0") else { throw IngestError.invalidRequest("id: the node's ID") }
        guard let kind = form["kind"].flatMap(FindingKind.init(rawValue:)) else { throw IngestError.invalidRequest("kind: a kind of scan") }
        let queued = try await operations.queueScan(nodeID, kind: kind, payload: nil)
        return ConsolePath("node").query([("id", nodeID), ("queued", "\(kind.rawValue) scan \(queued.scanID)")]).text
    }

    /// `POST /console/node/command` (`id`, `action`): queues the command; back to the node's page.
    func queueCommand(_ form: FormBody) async throws(IngestError) -> String {
        guard let nodeID = form["id"], !nodeID.isEmpty, !nodeID.contains("\0") else { throw IngestError.invalidRequest("id: the node's ID") }
        guard let action = form["action"].flatMap(ThreatMapperAction.init(name:)), FindingKind(startedBy: action) == nil else {
            throw IngestError.invalidRequest("action: a ThreatMapper action that starts no scan")
        }
        _ = try await operations.queueCommand(nodeID, action: action, payload: OperatorService.defaultPayload(nodeID: nodeID))
        return ConsolePath("node").query([("id", nodeID), ("queued", action.name)]).text
    }
}
