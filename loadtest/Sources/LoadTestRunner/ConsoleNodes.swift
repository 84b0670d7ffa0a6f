import Foundation
import IngestTransport
import LoadTestCore
import NIOCore

/// Reads the console's nodes through the operator API, for the loss check.
enum ConsoleNodes {
    /// Each node whose ID starts with `prefix`, with the report ID the console holds as its latest
    /// and the content digest of its entities.
    static func latestReports(target: FleetTarget, adminKey: String, prefix: String) async throws -> [String: LossCheck.Stored] {
        let connection = try await target.connect()
        defer { Task { await connection.close() } }
        let token = try await ConsoleAdmin.login(connection, adminKey: adminKey)
        var stored: [String: LossCheck.Stored] = [:]
        // Keyset pagination from just before the prefix.
        var after: String? = prefix.isEmpty ? nil : String(prefix.dropLast()) + String(UnicodeScalar(UInt8(prefix.utf8.last! - 1)))
        while true {
            var path = "/api/v1/nodes?limit=1000&content=true"
            if let after { path += "&after=" + (after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? after) }
            let page = try await connection.request(.GET, path, headers: ["authorization": "Bearer \(token)"])
            guard page.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(page.text.utf8)) as? [String: Any],
                let nodes = object["nodes"] as? [[String: Any]]
            else { throw FleetError("listing nodes failed: \(page.status)") }
            var pastPrefix = false
            for node in nodes {
                guard let id = node["id"] as? String else { continue }
                if !prefix.isEmpty && !id.hasPrefix(prefix) {
                    if id > prefix { pastPrefix = true }
                    continue
                }
                stored[id] = LossCheck.Stored(reportID: node["last_report_id"] as? String, content: node["content"] as? String)
            }
            guard !pastPrefix, let next = object["next"] as? String else { break }
            after = next
        }
        return stored
    }
}

/// Reads the scans the fleet ran through the operator API, for the findings check.
enum ConsoleScans {
    static func stored(target: FleetTarget, adminKey: String, scanIDs: [String]) async throws -> [String: FindingsCheck.Stored] {
        let connection = try await target.connect()
        defer { Task { await connection.close() } }
        let token = try await ConsoleAdmin.login(connection, adminKey: adminKey)
        var stored: [String: FindingsCheck.Stored] = [:]
        for scanID in scanIDs {
            let path = "/api/v1/scans/" + (scanID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? scanID)
            let response = try await connection.request(.GET, path, headers: ["authorization": "Bearer \(token)"])
            if response.status == .notFound { continue }
            guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any],
                let findings = object["findings"] as? Int, let status = object["status"] as? String
            else { throw FleetError("reading scan \(scanID) failed: \(response.status)") }
            stored[scanID] = FindingsCheck.Stored(findings: findings, status: status)
        }
        return stored
    }
}

/// Logs in with the admin key.
enum ConsoleAdmin {
    static func login(_ connection: HTTPClientConnection, adminKey: String) async throws -> String {
        let login = try await connection.request(
            .POST, "/deepfence/auth/token", headers: ["content-type": "application/json"],
            body: ByteBuffer(string: #"{"api_token":"\#(adminKey)"}"#))
        guard login.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(login.text.utf8)) as? [String: Any],
            let token = object["access_token"] as? String
        else { throw FleetError("the admin key could not log in: \(login.status)") }
        return token
    }
}
