/// Scan IDs, which route a scan's records to the owner of its node.
///
/// ## Overview
/// Most records a sensor ships name only their scan (`scan_id`), not their node, and the gateway
/// must route every record of one scan to the same owner without a lookup. The console makes
/// scan IDs as ThreatMapper does, `<node_id>-<digits>` (here the Unix time in milliseconds and
/// three random digits, so scans of one node queued in the same millisecond by different
/// gateways almost never collide; a collision is detected by the scan table's key and a new ID
/// drawn), and reads the node back by dropping the last `-` and the digits after it. A scan ID of another form (a scan this console did not start) needs the record's
/// own `node_id`.
public enum ScanID {
    /// Longest scan ID accepted, in bytes.
    public static let maxBytes = 1024 + 21

    /// A new scan ID for `nodeID` at `now`; `nonce` (0 to 999) tells apart scans of the same millisecond.
    public static func make(nodeID: String, at now: Timestamp, nonce: Int = Int.random(in: 0..<1000)) -> String {
        "\(nodeID)-\(now.milliseconds * 1000 + Int64(nonce % 1000))"
    }

    /// The node a scan ID was made for, if it has the console's form.
    public static func nodeID(of scanID: String) -> String? {
        guard let dash = scanID.utf8.lastIndex(of: UInt8(ascii: "-")) else { return nil }
        let digits = scanID.utf8[scanID.utf8.index(after: dash)...]
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            dash != scanID.utf8.startIndex
        else { return nil }
        return String(scanID[..<dash])
    }

    /// The scan a command's payload names (`bin_args.scan_id`, as upstream start and stop
    /// scan actions carry it), if any.
    public static func named(inPayload payload: String) -> String? {
        guard let outer = try? JSONObject(parsing: Array(payload.utf8)), let arguments = outer["bin_args"], arguments.kind == .object,
            let inner = try? JSONObject(parsing: Array(arguments.raw.utf8))
        else { return nil }
        return inner["scan_id"]?.string
    }
}
