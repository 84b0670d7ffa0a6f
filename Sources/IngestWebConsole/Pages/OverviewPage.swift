import Foundation
import IngestCore

/// The overview: nodes online and offline by kind, reports per minute over the last hour, the
/// beat rate in force, and the newest and most recently silent nodes.
extension WebConsole {
    func overview(_ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        let counts = try await operations.nodeCounts()
        let newest = try await operations.highlights(.newest, limit: 8).map(JSONTree.init(parsing:))
        let silent = try await operations.highlights(.silent, limit: 8).map(JSONTree.init(parsing:))
        let workers = await operations.workerStats().map(JSONTree.init(parsing:))
        let series = activity.series(now: clock.now().milliseconds)
        let beatRates = Set(workers.compactMap { $0["beat_rate"].int })
        var beat: HTML = beatRates.isEmpty ? "<span class=\"muted\">no worker answered</span>"
            : "\(beatRates.sorted().map { "\($0) s" }.joined(separator: ", "))"
        if let stretched = operations.stretchedBeat() {
            beat = "\(beat) <span class=\"muted\" id=\"cluster-beat-rate\">— the gateways stretch it to \(stretched) s while what they forward is refused for load</span>"
        }
        let kinds = Array(Set(counts.map(\.kind))).sorted()
        let rows: [HTML] = kinds.map { kind in
            let online = counts.first { $0.kind == kind && $0.online }?.count ?? 0
            let offline = counts.first { $0.kind == kind && !$0.online }?.count ?? 0
            return """
                <tr><th>\(Self.kindName(kind))</th>
                <td><a href="\(ConsolePath("nodes").query([("kind", kind), ("status", "online")]))">\(Layout.count(online))</a></td>
                <td><a href="\(ConsolePath("nodes").query([("kind", kind), ("status", "offline")]))">\(Layout.count(offline))</a></td>
                <td>\(Layout.count(online + offline))</td></tr>
                """
        }
        let total = counts.reduce(0) { $0 + $1.count }
        let body: HTML = """
            <h1>Overview</h1>
            <div class="cards">
            <section class="card"><h2>Nodes</h2>
            <table id="node-counts"><thead><tr><th>Kind</th><th>Online</th><th>Offline</th><th>Total</th></tr></thead>
            <tbody>\(rows)</tbody><tfoot><tr><th>All</th><td></td><td></td><td id="node-total">\(Layout.count(total))</td></tr></tfoot></table>
            </section>
            <section class="card"><h2>Beat rate in force</h2><p class="big" id="beat-rate">\(beat)</p>
            <p class="muted">How often sensors are asked to report; the workers stretch it when they fall behind, a gateway while what it forwards is refused for load.</p></section>
            </div>
            <section><h2>Reports per minute, last hour</h2>\(ActivityChart.svg(series))
            <p class="legend"><span class="swatch committed"></span> reports committed <span class="swatch refused"></span> reports shed or fenced
            <span class="swatch errors"></span> errors this gateway answered (4xx and 5xx) — sampled every \(Int(configuration.sampleInterval.components.seconds)) s
            since this gateway started</p></section>
            <div class="cards">
            <section class="card"><h2>Newest nodes</h2>\(Self.nodeList(newest, time: "first_seen"))</section>
            <section class="card"><h2>Gone silent</h2>\(Self.nodeList(silent, time: "offline_since"))</section>
            </div>
            """
        return ("Overview", body)
    }

    static func nodeList(_ nodes: [JSONTree], time: String) -> HTML {
        guard !nodes.isEmpty else { return "<p class=\"muted\">None.</p>" }
        let items: [HTML] = nodes.map { node in
            "<li>\(Layout.nodeLink(node["id"].text)) \(Layout.liveness(node["online"].bool)) \(Layout.time(node[time].string))</li>"
        }
        return "<ul class=\"plain\">\(items)</ul>"
    }

    static func kindName(_ kind: String) -> String {
        switch kind {
        case "host": "Hosts"
        case "kubernetes_cluster": "Kubernetes clusters"
        default: kind
        }
    }
}

/// The activity chart: one bar pair per minute, drawn as SVG by the server (no script, no library).
enum ActivityChart {
    static func svg(_ series: [ActivityHistory.Minute]) -> HTML {
        let width = 720, height = 160, top = 10, bottom = 20
        let peak = max(series.map { max($0.committed + $0.refused, $0.errors) }.max() ?? 0, 1)
        let step = Double(width) / Double(max(series.count, 1))
        var bars: [HTML] = []
        var errorPoints: [String] = []
        for (index, minute) in series.enumerated() {
            let x = Int(Double(index) * step)
            let w = max(Int(step) - 1, 1)
            let scale = Double(height - top - bottom) / Double(peak)
            let committed = Int(Double(minute.committed) * scale)
            let refused = Int(Double(minute.refused) * scale)
            let base = height - bottom
            errorPoints.append("\(x + w / 2),\(base - Int(Double(minute.errors) * scale))")
            bars.append("""
                <rect class="committed" x="\(x)" y="\(base - committed)" width="\(w)" height="\(committed)"><title>\(minute.committed) committed</title></rect>\
                <rect class="refused" x="\(x)" y="\(base - committed - refused)" width="\(w)" height="\(refused)"><title>\(minute.refused) shed or fenced</title></rect>
                """)
        }
        return """
            <svg class="chart" id="activity-chart" viewBox="0 0 \(width) \(height)" role="img" aria-label="Reports per minute over the last hour">
            <line class="axis" x1="0" y1="\(height - bottom)" x2="\(width)" y2="\(height - bottom)"></line>
            \(bars)
            <polyline class="errors" points="\(errorPoints.joined(separator: " "))"></polyline>
            <text class="axis-label" x="0" y="\(height - 4)">60 min ago</text><text class="axis-label" x="\(width - 30)" y="\(height - 4)">now</text>
            <text class="axis-label" x="4" y="\(top + 8)">\(peak)/min</text></svg>
            """
    }
}
