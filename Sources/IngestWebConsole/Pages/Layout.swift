import Foundation
import IngestGateway

/// The frame of every page: the head (the stylesheet and the script, nothing inline), the
/// navigation with the sign-out form, and the page's main part.
enum Layout {
    static func page(title: String, session: WebConsole.Session, _ main: HTML) -> HTML {
        document(title: title, header: """
            <header><nav>
            <a class="brand" href="/console/">ThreatMapper console</a>
            <a href="/console/">Overview</a><a href="/console/cluster">Cluster</a><a href="/console/nodes">Nodes</a>
            <a href="/console/scans">Scans</a><a href="/console/keys">API keys</a>
            <form method="post" action="/console/sign-out" class="sign-out">\(csrfField(session))<button type="submit" id="sign-out">Sign out</button></form>
            </nav></header>
            """, main: main)
    }

    /// A page with no navigation (signed out).
    static func bare(title: String, _ main: HTML) -> HTML {
        document(title: title, header: "<header><nav><span class=\"brand\">ThreatMapper console</span></nav></header>", main: main)
    }

    static func document(title: String, header: HTML, main: HTML) -> HTML {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) · ThreatMapper console</title>
        <link rel="stylesheet" href="/console/assets/console.css"><script src="/console/assets/console.js" defer></script>
        </head><body>\(header)<main id="main">\(main)</main></body></html>
        """
    }

    /// The hidden field every form of a session carries.
    static func csrfField(_ session: WebConsole.Session) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(session.csrf)\">"
    }

    /// A time as the API gives it (RFC 3339), shown as it is, with the age beside it.
    static func time(_ text: String?, now: Date = Date()) -> HTML {
        guard let text, !text.isEmpty else { return "<span class=\"muted\">never</span>" }
        guard let date = RFC3339.parse(text) else { return "\(text)" }
        return "<time datetime=\"\(text)\" title=\"\(text)\">\(age(now.timeIntervalSince(date)))</time>"
    }

    /// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
    static func age(_ seconds: TimeInterval) -> String {
        let s = Int(max(seconds, 0))
        switch s {
        case ..<60: return "\(s) s ago"
        case ..<3600: return "\(s / 60) min ago"
        case ..<86400: return "\(s / 3600) h ago"
        default: return "\(s / 86400) d ago"
        }
    }

    /// An online/offline badge.
    static func liveness(_ online: Bool?) -> HTML {
        online == true ? "<span class=\"badge ok\">online</span>" : "<span class=\"badge bad\">offline</span>"
    }

    /// A link to a node's page.
    static func nodeLink(_ id: String) -> HTML {
        "<a class=\"node-link\" href=\"\(ConsolePath("node").query([("id", id)]))\">\(id)</a>"
    }

    /// A link to a scan's page.
    static func scanLink(_ id: String) -> HTML {
        "<a href=\"\(ConsolePath("scan").query([("id", id)]))\">\(id)</a>"
    }

    /// `<option>`s of `values`, the one equal to `selected` chosen.
    static func options(_ values: [(value: String, label: String)], selected: String?) -> HTML {
        HTML(trusted: values.map { option in
            let chosen: HTML = option.value == (selected ?? "") ? " selected" : ""
            return "<option value=\"\(option.value)\"\(chosen)>\(option.label)</option>" as HTML
        }.map(\.text).joined())
    }

    /// Thousands separated by a thin space.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "\u{2009}" }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}
