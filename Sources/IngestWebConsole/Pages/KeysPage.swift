import Foundation
import IngestAuth
import IngestCore
import IngestGateway

/// API keys: every key with its role, label and state; create one (its key shown once, on the
/// answer to the form, never again); revoke one (not the key of the session itself).
extension WebConsole {
    func keys(_ session: Session, created: (id: Int64, key: String, role: String)?) async throws(IngestError) -> (title: String, body: HTML) {
        let keys = try await operations.apiKeys()
        let rows: [HTML] = keys.reversed().map { key in
            let state: HTML
            if let revoked = key.revokedAt {
                state = "<span class=\"badge bad\">revoked</span> \(Layout.time(RFC3339.format(revoked)))"
            } else if key.id == session.claims.keyID {
                state = "<span class=\"badge ok\">active</span> <span class=\"muted\">(this session's key)</span>"
            } else {
                state = """
                    <span class="badge ok">active</span>
                    <form method="post" action="/console/keys/revoke" class="inline">\(Layout.csrfField(session))<input type="hidden" name="id" value="\(key.id)">
                    <button type="submit" class="danger" id="revoke-\(key.id)">Revoke</button></form>
                    """
            }
            return "<tr id=\"key-\(key.id)\"><td>\(key.id)</td><td>\(key.role)</td><td>\(key.label)</td><td>\(Layout.time(RFC3339.format(key.createdAt)))</td><td>\(state)</td></tr>"
        }
        let shown: HTML = created.map { created in
            """
            <div class="notice" id="created-key"><p>New \(created.role) key \(created.id). Copy it now: it is shown this once, and only its hash is kept.</p>
            <p><code id="new-key">\(created.key)</code></p></div>
            """
        } ?? ""
        let body: HTML = """
            <h1>API keys</h1>
            \(shown)
            <section class="card"><h2>Create a key</h2>
            <form method="post" action="/console/keys/create">\(Layout.csrfField(session))
            <label>Role <select name="role" id="key-role"><option value="sensor">sensor</option><option value="admin">admin</option></select></label>
            <label>Label <input type="text" name="label" id="key-label" maxlength="\(OperatorService.maxLabelLength)"></label>
            <button type="submit" id="create-key">Create</button></form></section>
            <table id="keys"><thead><tr><th>ID</th><th>Role</th><th>Label</th><th>Created</th><th>State</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        return ("API keys", body)
    }

    /// `POST /console/keys/create` (`role`, `label`): the keys page with the new key shown once.
    func createKey(_ form: FormBody, _ session: Session) async throws(IngestError) -> (title: String, body: HTML) {
        guard let role = form["role"].flatMap(APIRole.init(rawValue:)) else { throw IngestError.invalidRequest("role: sensor or admin") }
        let created = try await operations.createKey(role: role, label: form["label"] ?? "")
        logger.notice("web console: API key created", metadata: ["key_id": "\(created.id)", "role": "\(role.rawValue)", "by": "\(session.claims.keyID)"])
        return try await keys(session, created: (created.id, created.key.token, role.rawValue))
    }

    /// `POST /console/keys/revoke` (`id`): revokes the key; back to the keys page.
    func revokeKey(_ form: FormBody, _ session: Session) async throws(IngestError) -> String {
        guard let id = form["id"].flatMap({ Int64($0) }), id > 0 else { throw IngestError.invalidRequest("id: a key's number") }
        try await operations.revokeKey(id: id, by: session.claims.keyID)
        logger.notice("web console: API key revoked", metadata: ["key_id": "\(id)", "by": "\(session.claims.keyID)"])
        return "/console/keys"
    }
}
