/// What a simulated sensor's reports contain.
public struct SensorProfile: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A host sensor: `Host`, processes, containers, images, endpoints and their connections.
        case host
        /// A Kubernetes cluster sensor: `KubernetesCluster`, pods, services, namespaces.
        case cluster
    }

    public var name: String
    public var kind: Kind
    public var processes: Int
    public var containers: Int
    public var images: Int
    public var endpoints: Int
    /// Edges of endpoints' `adjacency`.
    public var connections: Int
    public var pods: Int
    public var services: Int
    public var namespaces: Int
    /// The fraction of processes, connections and pods that change between two beats
    /// (they exit and others start; connections close and others open).
    public var churn: Double

    public init(
        name: String, kind: Kind, processes: Int = 0, containers: Int = 0, images: Int = 0, endpoints: Int = 0,
        connections: Int = 0, pods: Int = 0, services: Int = 0, namespaces: Int = 0, churn: Double = 0.01
    ) {
        self.name = name
        self.kind = kind
        self.processes = processes
        self.containers = containers
        self.images = images
        self.endpoints = endpoints
        self.connections = connections
        self.pods = pods
        self.services = services
        self.namespaces = namespaces
        self.churn = churn
    }

    /// A host like ThreatMapper's sample report: ~160 processes, 8 containers, 12 images.
    public static let host = SensorProfile(
        name: "host", kind: .host, processes: 160, containers: 8, images: 12, endpoints: 10, connections: 6)

    /// A busy host: ~2,500 endpoints, ~1 MB of JSON per report.
    public static let busyHost = SensorProfile(
        name: "busy", kind: .host, processes: 700, containers: 40, images: 30, endpoints: 2500, connections: 1800)

    /// A Kubernetes cluster sensor.
    public static let cluster = SensorProfile(
        name: "cluster", kind: .cluster, pods: 120, services: 40, namespaces: 10)

    /// A small host (a VM running one service): what many sensors of a large fleet look like, and
    /// a light enough profile for runs whose point is the number of connections.
    public static let small = SensorProfile(
        name: "small", kind: .host, processes: 24, containers: 1, images: 2, endpoints: 2, connections: 1)

    /// The built-in profiles.
    public static let all = [host, busyHost, cluster, small]

    /// Their names, for messages: "host, busy, cluster, small".
    public static var names: String { all.map(\.name).joined(separator: ", ") }

    /// The built-in profile with this name.
    public static func named(_ name: String) -> SensorProfile? {
        all.first { $0.name == name }
    }
}
