/// The kinds of entity a ThreatMapper report carries and the console stores, one current-state
/// table each.
public enum EntityKind: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case host = 0
    case process = 1
    case container = 2
    case containerImage = 3
    case pod = 4
    case service = 5
    case namespace = 6
    case kubernetesCluster = 7
    case cloudProvider = 8
    case cloudRegion = 9
    case endpoint = 10
    /// An edge of an endpoint's `adjacency` list: one endpoint talking to another.
    case connection = 11

    /// The report's top-level key for this kind's topology (`nil` for connections, which come
    /// from endpoints' `adjacency`).
    public var topologyKey: String? {
        switch self {
        case .host: "Host"
        case .process: "Process"
        case .container: "Container"
        case .containerImage: "ContainerImage"
        case .pod: "Pod"
        case .service: "Service"
        case .namespace: "Namespace"
        case .kubernetesCluster: "KubernetesCluster"
        case .cloudProvider: "CloudProvider"
        case .cloudRegion: "CloudRegion"
        case .endpoint: "Endpoint"
        case .connection: nil
        }
    }

    /// The stable lower-case name used in the change log, the operator API and table names.
    public var name: String {
        switch self {
        case .host: "host"
        case .process: "process"
        case .container: "container"
        case .containerImage: "container_image"
        case .pod: "pod"
        case .service: "service"
        case .namespace: "namespace"
        case .kubernetesCluster: "kubernetes_cluster"
        case .cloudProvider: "cloud_provider"
        case .cloudRegion: "cloud_region"
        case .endpoint: "endpoint"
        case .connection: "connection"
        }
    }

    /// The current-state table of this kind.
    public var tableName: String {
        switch self {
        case .host: "hosts"
        case .process: "processes"
        case .container: "containers"
        case .containerImage: "container_images"
        case .pod: "pods"
        case .service: "services"
        case .namespace: "namespaces"
        case .kubernetesCluster: "kubernetes_clusters"
        case .cloudProvider: "cloud_providers"
        case .cloudRegion: "cloud_regions"
        case .endpoint: "endpoints"
        case .connection: "connections"
        }
    }

    public var description: String { name }

    /// The kind with this stable name, if any.
    public init?(name: String) {
        guard let kind = EntityKind.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    /// Seeds the entity-ID hash so the same ID in two kinds gives two keys.
    @inlinable var hashSeed: UInt64 { 0x5EED_0000_0000_0000 | UInt64(rawValue) }
}

/// What a reporting node is: a host sensor or a Kubernetes cluster sensor.
public enum NodeKind: String, Sendable, Hashable, CaseIterable {
    case host
    case kubernetesCluster = "kubernetes_cluster"
}
