/// Renders a run as one self-contained HTML page: summary tables and inline SVG charts of
/// throughput, latency percentiles, errors and the console's CPU and memory over time, with the
/// fault steps marked on the time axis. No scripts, no build tools.
public enum HTMLReport {
    public static func render(_ result: RunResult) -> String {
        let seconds = result.seconds
        let faults = result.faults.map { (x: $0.at, label: $0.action) }
        func series(_ value: (SecondSummary) -> Double?) -> [Double?] { seconds.map(value) }
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>ThreatMapper console load test</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
            table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
            th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.pass{color:#070}.fail{color:#b00;font-weight:bold}
            h2{margin-top:28px}svg{background:#fff;border:1px solid #ddd;margin:6px 0}
            </style></head><body>
            <h1>Load test of \(escape(result.target))</h1>
            <p>Started \(escape(result.startedAt)), \(format(result.durationSeconds, 0)) s, peak \(result.scenario.peakSensors) sensors.
            Result: <span class="\(result.passed ? "pass" : "fail")">\(result.passed ? "PASSED" : "FAILED")</span>
            \(result.failures.isEmpty ? "" : "— " + result.failures.map(escape).joined(separator: "; "))</p>
            """
        html += "<h2>Windows</h2><table><tr><th>window</th><th>seconds</th><th>sensors</th><th>reports/s</th><th>polls/s</th>"
            + "<th>report p50</th><th>p99</th><th>p99.9</th><th>max</th><th>poll p99</th><th>non-2xx</th><th>console CPU</th><th>console RSS max</th><th>database CPU</th>"
            + "<th>CPU per report: console</th><th>database</th><th>fleet CPU</th><th>fleet CPU per report</th><th>fleet send lag p99</th></tr>"
        for (name, window) in [("whole run", result.overall as RunResult.Window?), ("steady", result.steady)] {
            guard let window else { continue }
            html += "<tr><td>\(name)</td><td>\(window.from)–\(window.to)</td><td>\(window.sensors)</td>"
                + "<td>\(format(window.reportsPerSecond, 1))</td><td>\(format(window.pollsPerSecond, 1))</td>"
                + "<td>\(ms(window.report?.p50))</td><td>\(ms(window.report?.p99))</td><td>\(ms(window.report?.p999))</td>"
                + "<td>\(ms(window.report?.max))</td><td>\(ms(window.poll?.p99))</td><td>\(window.nonSuccess)</td>"
                + "<td>\(window.consoleCPUPercent.map { format($0, 0) + " %" } ?? "–")</td>"
                + "<td>\(window.consoleRSSBytesMax.map { format(Double($0) / 1_048_576, 0) + " MB" } ?? "–")</td>"
                + "<td>\(window.cpu?.databasePercent.map { format($0, 0) + " %" } ?? "–")</td>"
                + "<td>\(window.cpu?.consoleMillisPerReport.map { format($0, 3) + " ms" } ?? "–")</td>"
                + "<td>\(window.cpu?.databaseMillisPerReport.map { format($0, 3) + " ms" } ?? "–")"
                + "\(window.cpu?.autovacuumMillisPerReport.map { " (autovacuum " + format($0, 3) + " ms)" } ?? "")</td>"
                + "<td>\(window.cpu?.fleetPercent.map { format($0, 0) + " %" } ?? "–")</td>"
                + "<td>\(window.cpu?.fleetMillisPerReport.map { format($0, 3) + " ms" } ?? "–")</td>"
                + "<td>\(ms(window.sendLag?.p99))</td></tr>"
        }
        html += "</table>"
        html += "<h2>Requests</h2><table><tr><th>kind</th><th>offered</th><th>acknowledged</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>"
        for kind in RunStatistics.Kind.allCases {
            let latency = result.latency[kind.rawValue]
            html += "<tr><td>\(kind.rawValue)</td><td>\(result.offered[kind.rawValue] ?? 0)</td><td>\(result.acknowledged[kind.rawValue] ?? 0)</td>"
                + "<td>\(ms(latency?.p50))</td><td>\(ms(latency?.p90))</td><td>\(ms(latency?.p99))</td><td>\(ms(latency?.p999))</td><td>\(ms(latency?.max))</td></tr>"
        }
        html += "</table><p>Answers by status: "
            + result.statuses.sorted { $0.key < $1.key }.map { "\($0.key == "0" ? "no answer" : $0.key): \($0.value)" }.joined(separator: ", ")
            + "; \(format(Double(result.bytesSent) / 1_048_576, 1)) MB sent.</p>"
        if let loss = result.lossCheck {
            html += "<h2>Loss check</h2><p class=\"\(loss.passed ? "pass" : "fail")\">\(loss.sensorsChecked) sensors checked (\(loss.contentChecked) down to their entities), "
                + "\(loss.missingNodes) nodes missing, \(loss.mismatches.count) mismatches.</p>"
            if !loss.mismatches.isEmpty {
                html += "<table><tr><th>node</th><th>last acknowledged</th><th>stored</th></tr>"
                for mismatch in loss.mismatches.prefix(50) {
                    let held = mismatch.storedContent.map { "\(mismatch.stored ?? "") with entities \($0), sent \(mismatch.expectedContent ?? "?")" }
                        ?? mismatch.stored ?? "no node"
                    html += "<tr><td>\(escape(mismatch.nodeID))</td><td>\(escape(mismatch.acknowledged))</td><td>\(escape(held))</td></tr>"
                }
                html += "</table>"
            }
        }
        if !result.faults.isEmpty {
            html += "<h2>Fault steps</h2><table><tr><th>at</th><th>action</th><th>outcome</th></tr>"
            for fault in result.faults {
                html += "<tr><td>\(format(fault.at, 1)) s</td><td>\(escape(fault.action))</td><td>\(escape(fault.outcome))</td></tr>"
            }
            html += "</table>"
        }
        html += "<h2>Throughput</h2>" + chart(
            [("reports offered/s", "#999", series { Double($0.reportsOffered) }),
             ("reports acknowledged/s", "#1f77b4", series { Double($0.reportsAcknowledged) }),
             ("polls acknowledged/s", "#2ca02c", series { Double($0.pollsAcknowledged) })],
            unit: "/s", faults: faults)
        html += "<h2>Report latency</h2>" + chart(
            [("p50", "#2ca02c", series { $0.reportP50Micros.map { Double($0) / 1000 } }),
             ("p99", "#ff7f0e", series { $0.reportP99Micros.map { Double($0) / 1000 } }),
             ("p99.9", "#d62728", series { $0.reportP999Micros.map { Double($0) / 1000 } }),
             ("fleet send lag p99", "#999", series { $0.sendLagP99Micros.map { Double($0) / 1000 } })],
            unit: "ms", faults: faults)
        html += "<h2>Errors</h2>" + chart(
            [("non-2xx or no answer /s", "#d62728", series { Double($0.failed) }),
             ("503/s", "#9467bd", series { Double($0.statuses["503"] ?? 0) })],
            unit: "/s", faults: faults)
        html += "<h2>Console process</h2>" + chart(
            [("CPU %", "#8c564b", series { $0.consoleCPUPercent })], unit: "%", faults: faults)
            + chart([("RSS MB", "#17becf", series { $0.consoleRSSBytes.map { Double($0) / 1_048_576 } })], unit: "MB", faults: faults)
        html += "</body></html>\n"
        return html
    }

    /// A line chart of per-second series, with vertical markers at the fault steps.
    static func chart(_ lines: [(name: String, color: String, values: [Double?])], unit: String, faults: [(x: Double, label: String)]) -> String {
        let width = 1000.0, height = 260.0, left = 60.0, right = 10.0, top = 24.0, bottom = 30.0
        let count = max(lines.map(\.values.count).max() ?? 0, 1)
        let peak = max(lines.flatMap { $0.values.compactMap { $0 } }.max() ?? 0, 1e-9)
        let yMax = niceCeiling(peak)
        func x(_ second: Double) -> Double { left + (width - left - right) * second / Double(max(count - 1, 1)) }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - value / yMax) }
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">"
        for step in 0...4 {
            let value = yMax * Double(step) / 4
            let yy = y(value)
            svg += "<line x1=\"\(left)\" y1=\"\(format(yy, 1))\" x2=\"\(width - right)\" y2=\"\(format(yy, 1))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 4)\" y=\"\(format(yy + 4, 1))\" text-anchor=\"end\">\(format(value, value < 10 ? 1 : 0))\(step == 4 ? " " + unit : "")</text>"
        }
        let ticks = max(1, count / 10)
        for second in stride(from: 0, to: count, by: ticks) {
            let anchor = second == 0 ? "start" : (count - second < ticks / 2 ? "end" : "middle")
            svg += "<text x=\"\(format(x(Double(second)), 1))\" y=\"\(height - 10)\" text-anchor=\"\(anchor)\">\(second)s</text>"
        }
        for fault in faults where fault.x <= Double(count) {
            let xx = format(x(fault.x), 1)
            svg += "<line x1=\"\(xx)\" y1=\"\(top)\" x2=\"\(xx)\" y2=\"\(height - bottom)\" stroke=\"#b00\" stroke-dasharray=\"4 3\"/>"
            svg += "<text x=\"\(format(x(fault.x) + 3, 1))\" y=\"\(top + 10)\" fill=\"#b00\">\(escape(fault.label))</text>"
        }
        for (index, line) in lines.enumerated() {
            var path = ""
            var pen = false
            for (second, value) in line.values.enumerated() {
                guard let value else {
                    pen = false
                    continue
                }
                path += (pen ? " L" : " M") + "\(format(x(Double(second)), 1)),\(format(y(min(value, yMax)), 1))"
                pen = true
            }
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\"/>"
            let legendX = left + 10 + Double(index) * 200
            svg += "<rect x=\"\(legendX)\" y=\"6\" width=\"10\" height=\"10\" fill=\"\(line.color)\"/>"
            svg += "<text x=\"\(legendX + 14)\" y=\"15\">\(escape(line.name))</text>"
        }
        return svg + "</svg>"
    }

    static func niceCeiling(_ value: Double) -> Double {
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for step in [1.0, 2, 2.5, 5, 10] where magnitude * step >= value { return magnitude * step }
        return magnitude * 10
    }

    static func ms(_ micros: UInt64?) -> String {
        guard let micros else { return "–" }
        return format(Double(micros) / 1000, micros < 10_000 ? 2 : 1) + " ms"
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let fraction = text.distance(from: dot, to: text.endIndex) - 1
            if fraction < decimals { text += String(repeating: "0", count: decimals - fraction) }
        }
        return text
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
