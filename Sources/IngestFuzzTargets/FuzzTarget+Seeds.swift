import IngestCompression
import IngestCore
import LoadTestCore

extension FuzzTarget {
    /// The seed corpus of the case: valid inputs of each shape, then truncated and bit-flipped
    /// variants of them, named by what they are. Deterministic, so `make fuzz-seeds` rewrites
    /// the committed corpus (`Fuzz/Corpus/<case>/`) byte for byte.
    public func seeds() -> [(name: String, bytes: [UInt8])] {
        let valid: [(String, [UInt8])]
        switch self {
        case .report: valid = Self.reports()
        case .gzip:
            valid = Self.reports().map { ("gzip-" + $0.0, Gzip.compress($0.1)) } + [
                ("bomb-zeros", Gzip.compress([UInt8](repeating: 0, count: 4 * Self.gunzipLimit), level: 9)),
                ("plain-json", Array(#"{"TS":"1"}"#.utf8)),
            ]
        case .requests:
            valid = [
                ("login", [0] + Array(#"{"api_token":"ZGVmYXVsdDo0NmYzOGE1Ni1lZWU1LTRkODYtYjVjMi0zMDFmYWQ1MTRkZTM"}"#.utf8)),
                ("agent-init", [1] + Array(#"{"node_id":"host-1","available_workload":2,"version":"v2.5.0"}"#.utf8)),
                ("agent", [2] + Array(#"{"node_id":"host-\u00e9\"1","available_workload":0}"#.utf8)),
                ("kubernetes", [3] + Array(#"{"node_id":"cluster-1","node_type":"cluster","available_workload":null}"#.utf8)),
                ("cloud-node", [4] + Array(#"{"cloud_provider":"aws","compliance_type":"cis"}"#.utf8)),
            ]
        case .token:
            let (access, refresh) = Self.signer.issue(keyID: 7, role: .sensor, namespace: "default", now: Self.now)
            valid = [
                ("access-text", [1] + Array(access.utf8)),
                ("refresh-text", [3] + Array(refresh.utf8)),
                ("claims-access", [0] + Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8) + [0]
                    + Array(#"{"user_id":7,"role":"sensor","namespace":"default","iat":1800000000,"exp":1800001800}"#.utf8)),
                ("claims-refresh", [2] + Array(#"{"alg":"HS256"}"#.utf8) + [0]
                    + Array(#"{"type":"refresh_token","user":7,"role":"admin","namespace":"n","iat":1,"exp":1900000000}"#.utf8)),
            ]
        }
        var seeds = valid
        for (name, bytes) in valid where bytes.count > 8 {
            seeds.append((name + "-truncated", Array(bytes.prefix(bytes.count / 2))))
            var rng = SplitMix64(seed: UInt64(bytes.count))
            var flipped = bytes
            for _ in 0..<max(1, bytes.count / 500) {
                let index = Int(rng.next() % UInt64(bytes.count - 1)) + 1
                flipped[index] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            }
            seeds.append((name + "-flipped", flipped))
        }
        return seeds
    }

    /// Small generated reports of every profile the fleet simulates.
    static func reports() -> [(String, [UInt8])] {
        let profiles = [
            SensorProfile(name: "host", kind: .host, processes: 6, containers: 2, images: 2, endpoints: 3, connections: 3),
            SensorProfile(name: "cluster", kind: .cluster, pods: 4, services: 2, namespaces: 2),
        ]
        return profiles.map { profile in
            let sensor = SimulatedSensor(nodeID: "fuzz-\(profile.name)", profile: profile, seed: 1)
            return ("report-" + profile.name, sensor.render(reportID: "r-1", timestamp: "2026-12-02T00:00:00Z"))
        }
    }
}
