/// The JSON bodies of the sensor routes other than the report, decoded from untrusted bytes.
///
/// Each decoder takes the body as it arrived and either returns what the route needs or throws
/// an ``IngestError`` with the field at fault; nothing here does I/O, so the gateway and the
/// fuzz targets (`Fuzz/`) call the same code.
public enum SensorRequest {
    /// Longest node ID a sensor may send, in bytes.
    public static let maxNodeIDBytes = 1024
    /// Longest API token a login may carry, in bytes.
    public static let maxAPITokenBytes = 256

    /// The cloud providers and compliance benchmarks `controls/cloud-node` names.
    public static let cloudProviders = ["aws", "gcp", "azure", "linux", "kubernetes"]
    public static let complianceTypes = ["hipaa", "gdpr", "pci", "nist", "cis", "soc_2", "nsa-cisa", "aws_foundational_security"]

    /// A body that must be one JSON object.
    public static func object(_ body: [UInt8]) throws(IngestError) -> JSONObject {
        guard !body.isEmpty else { throw .invalidRequest("the request needs a JSON object body") }
        return try JSONObject(parsing: body)
    }

    /// `POST /deepfence/auth/token`: `{"api_token": "..."}`; returns the token.
    public static func login(_ body: [UInt8]) throws(IngestError) -> String {
        let object = try object(body)
        guard let token = object["api_token"]?.string, !token.isEmpty, token.utf8.count <= maxAPITokenBytes else {
            throw .invalidRequest("api_token: a non-empty string of at most \(maxAPITokenBytes) bytes is required")
        }
        return token
    }

    /// The controls routes: `{"node_id", "available_workload", "node_type", "version"}`.
    public static func controls(_ body: [UInt8], route: ControlsRequest.Route) throws(IngestError) -> ControlsRequest {
        let object = try object(body)
        guard let nodeID = object["node_id"]?.string, !nodeID.isEmpty, nodeID.utf8.count <= maxNodeIDBytes else {
            throw .invalidRequest("node_id: a non-empty string of at most \(maxNodeIDBytes) bytes is required")
        }
        var workload = 0
        if let value = object["available_workload"], value.kind != .null {
            guard let number = value.int else { throw .invalidRequest("available_workload: an integer is required") }
            workload = number
        }
        if let value = object["version"], value.kind != .string, value.kind != .null {
            throw .invalidRequest("version: a string is required")
        }
        return ControlsRequest(route: route, nodeID: nodeID, availableWorkload: workload, version: object["version"]?.string)
    }

    /// `POST /deepfence/controls/cloud-node`: `{"cloud_provider", "compliance_type"}`, both from
    /// fixed lists.
    public static func cloudNode(_ body: [UInt8]) throws(IngestError) -> (provider: String, complianceType: String) {
        let object = try object(body)
        guard let provider = object["cloud_provider"]?.string, cloudProviders.contains(provider) else {
            throw .invalidRequest("cloud_provider: one of \(cloudProviders.joined(separator: ", ")) is required")
        }
        guard let benchmark = object["compliance_type"]?.string, complianceTypes.contains(benchmark) else {
            throw .invalidRequest("compliance_type: one of \(complianceTypes.joined(separator: ", ")) is required")
        }
        return (provider, benchmark)
    }
}
