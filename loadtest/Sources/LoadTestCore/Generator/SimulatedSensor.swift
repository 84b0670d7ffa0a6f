/// One simulated sensor's world: its host (or cluster) and everything on it, changing a little
/// every beat, rendered as a ThreatMapper topology report.
///
/// The state is compact (indices into ``Catalog`` and small integers), so 10,000 sensors fit in
/// a few hundred megabytes; every sensor has its own host name, IDs and random stream.
public struct SimulatedSensor: Sendable {
    struct Process: Sendable {
        var pid: Int
        var ppid: Int
        var executable: Int
        var container: Int  // -1: on the host
        var memory: Int
        var openFiles: Int
        var threads: Int
    }

    struct Container: Sendable {
        var id: String
        var name: String
        var image: Int
        var created: Int
        var memory: Int
    }

    struct Image: Sendable {
        var id: String
        var repository: Int
        var tag: Int
    }

    struct Endpoint: Sendable {
        var scoped: Bool
        var address: String
        var port: Int
        var pid: Int
        var id: String
    }

    struct Pod: Sendable {
        var uid: String
        var name: String
        var namespace: Int
        var ip: String
    }

    /// The node ID the console files this sensor under (host name or cluster ID).
    public let nodeID: String
    public let profile: SensorProfile
    var rng: SplitMix64
    var processes: [Process] = []
    var containers: [Container] = []
    var images: [Image] = []
    var endpoints: [Endpoint] = []
    var connections: [(Int, Int)] = []
    var pods: [Pod] = []
    var services: [Pod] = []
    var nextPID = 300
    var cpu = 5.0
    var memory = 2_000_000_000
    var uptime: Int
    let publicIP: String
    let privateIP: String
    let netns = 4_026_532_529

    /// A sensor named `nodeID` with its own random stream.
    public init(nodeID: String, profile: SensorProfile, seed: UInt64) {
        self.nodeID = nodeID
        self.profile = profile
        var rng = SplitMix64(seed: seed)
        uptime = Int(rng.next() % 10_000_000)
        publicIP = "203.0.\(rng.next() % 256).\(rng.next() % 254 + 1)"
        privateIP = "10.\(rng.next() % 256).\(rng.next() % 256).\(rng.next() % 254 + 1)"
        self.rng = rng
        switch profile.kind {
        case .host: populateHost()
        case .cluster: populateCluster()
        }
    }

    // MARK: Building the world

    mutating func hex(_ count: Int) -> String {
        var text = ""
        text.reserveCapacity(count)
        while text.count < count { text += String(rng.next(), radix: 16) }
        return String(text.prefix(count))
    }

    mutating func uuid() -> String {
        let h = hex(32)
        let c = Array(h)
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-4\(String(c[13..<16]))-a\(String(c[17..<20]))-\(String(c[20..<32]))"
    }

    mutating func populateHost() {
        for _ in 0..<profile.images {
            images.append(Image(
                id: hex(64), repository: Int(rng.next() % UInt64(Catalog.imageRepositories.count)),
                tag: Int(rng.next() % UInt64(Catalog.tags.count))))
        }
        for index in 0..<profile.containers {
            let name = Catalog.containerNames[index % Catalog.containerNames.count] + (index >= Catalog.containerNames.count ? "-\(index)" : "")
            containers.append(Container(
                id: hex(64), name: name, image: images.isEmpty ? -1 : index % images.count,
                created: 1_600_000_000 + Int(rng.next() % 50_000_000), memory: Int(rng.next() % 500_000_000)))
        }
        for _ in 0..<profile.processes { processes.append(newProcess()) }
        for _ in 0..<profile.endpoints { endpoints.append(newEndpoint()) }
        for _ in 0..<min(profile.connections, endpoints.count * max(endpoints.count - 1, 0)) { if let edge = newConnection() { connections.append(edge) } }
    }

    mutating func populateCluster() {
        for index in 0..<profile.pods { pods.append(newPod(index)) }
        for index in 0..<profile.services {
            services.append(Pod(uid: uuid(), name: "svc-\(index)", namespace: index % max(profile.namespaces, 1),
                                ip: "10.96.\(rng.next() % 256).\(rng.next() % 254 + 1)"))
        }
    }

    mutating func newProcess() -> Process {
        nextPID += 1 + Int(rng.next() % 50)
        let container = containers.isEmpty || rng.chance(0.5) ? -1 : Int(rng.next() % UInt64(containers.count))
        return Process(
            pid: nextPID, ppid: processes.isEmpty ? 1 : processes[Int(rng.next() % UInt64(processes.count))].pid,
            executable: Int(rng.next() % UInt64(Catalog.executables.count)), container: container,
            memory: Int(rng.next() % 400_000_000), openFiles: Int(rng.next() % 200), threads: 1 + Int(rng.next() % 32))
    }

    mutating func newEndpoint() -> Endpoint {
        let scoped = rng.chance(0.6)
        let address = scoped ? "127.0.0.1" : (rng.chance(0.5) ? publicIP : "198.51.\(rng.next() % 256).\(rng.next() % 254 + 1)")
        let port = 1024 + Int(rng.next() % 64_000)
        let pid = processes.isEmpty ? 1 : processes[Int(rng.next() % UInt64(processes.count))].pid
        let id = scoped ? "\(nodeID)-\(netns);\(address);\(port)" : ";\(address);\(port)"
        return Endpoint(scoped: scoped, address: address, port: port, pid: pid, id: id)
    }

    mutating func newConnection() -> (Int, Int)? {
        guard endpoints.count >= 2 else { return nil }
        let from = Int(rng.next() % UInt64(endpoints.count))
        var to = Int(rng.next() % UInt64(endpoints.count))
        if to == from { to = (to + 1) % endpoints.count }
        return (from, to)
    }

    mutating func newPod(_ index: Int) -> Pod {
        Pod(uid: uuid(), name: "pod-\(index)-\(hex(5))", namespace: index % max(profile.namespaces, 1),
            ip: "10.244.\(rng.next() % 256).\(rng.next() % 254 + 1)")
    }

    // MARK: One beat

    /// Moves the world one beat on: metrics move; about `churn` of the processes exit and as
    /// many start, connections close and open, pods are replaced.
    public mutating func advance(seconds: Int) {
        uptime += seconds
        cpu = max(0.5, min(95, cpu + Double(Int(rng.next() % 200) - 100) / 40))
        memory = max(500_000_000, memory + Int(rng.next() % 20_000_000) - 10_000_000)
        let churn = profile.churn
        for index in processes.indices {
            processes[index].memory = max(100_000, processes[index].memory + Int(rng.next() % 2_000_000) - 1_000_000)
            processes[index].openFiles = max(0, processes[index].openFiles + Int(rng.next() % 5) - 2)
            if rng.chance(churn) { processes[index] = newProcess() }
        }
        for index in connections.indices where rng.chance(churn * 2) {
            if let edge = newConnection() { connections[index] = edge }
        }
        for index in endpoints.indices where rng.chance(churn) {
            endpoints[index] = newEndpoint()
        }
        for index in pods.indices where rng.chance(churn) {
            pods[index] = newPod(index)
        }
    }

    // MARK: Rendering

    /// The report as JSON, as a ThreatMapper sensor sends it before gzip.
    public func render(reportID: String, timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: profile.kind == .host ? 120_000 + 350 * profile.endpoints : 60_000)
        json.beginObject()
        json.member("TS", timestamp)
        switch profile.kind {
        case .host: renderHost(&json, timestamp: timestamp)
        case .cluster: renderCluster(&json, timestamp: timestamp)
        }
        json.key("Overlay")
        json.beginObject()
        json.endObject()
        json.member("Window", 30_000_000_000)
        json.member("Shortcut", false)
        json.member("ID", reportID)
        json.endObject()
        return json.bytes
    }

    func renderHost(_ json: inout JSONWriter, timestamp: String) {
        let region = "region-\(nodeID.utf8.count % 7)"
        var adjacency = [[Int]](repeating: [], count: endpoints.count)
        for (from, to) in connections where from < endpoints.count && to < endpoints.count { adjacency[from].append(to) }
        json.key("Endpoint")
        json.beginObject()
        for (index, endpoint) in endpoints.enumerated() {
            json.key(endpoint.id)
            json.beginObject()
            json.key("metadata")
            json.beginObject()
            json.member("node_id", endpoint.id)
            json.member("timestamp", timestamp)
            json.member("pseudo", false)
            json.member("host_name", nodeID)
            json.member("pid", endpoint.pid)
            json.endObject()
            let peers = adjacency[index].map { endpoints[$0].id }
            if !peers.isEmpty { json.member("adjacency", strings: peers) }
            json.endObject()
        }
        json.endObject()

        json.key("Process")
        json.beginObject()
        for process in processes {
            let executable = Catalog.executables[process.executable]
            let id = "\(nodeID);\(process.pid)"
            json.key(id)
            json.beginObject()
            json.key("metadata")
            json.beginObject()
            json.member("node_id", id)
            json.member("node_type", "process")
            json.member("node_name", executable.path)
            json.member("timestamp", timestamp)
            json.member("pseudo", false)
            json.member("cpu_max", 200)
            json.member("memory_max", -1)
            json.member("memory_usage", process.memory)
            json.member("open_files_count", process.openFiles)
            json.member("host_name", nodeID)
            json.member("pid", process.pid)
            json.member("cmdline", executable.arguments.isEmpty ? executable.path : executable.path + " " + executable.arguments)
            json.member("ppid", process.ppid)
            json.member("threads", process.threads)
            json.endObject()
            json.key("parents")
            json.beginObject()
            json.member("host", nodeID)
            if process.container >= 0 {
                let container = containers[process.container]
                json.member("container", container.id)
                if container.image >= 0 { json.member("container_image", "sha256:" + images[container.image].id) }
            }
            json.endObject()
            json.endObject()
        }
        json.endObject()

        json.key("Container")
        json.beginObject()
        for container in containers {
            json.key(container.id)
            json.beginObject()
            json.key("metadata")
            json.beginObject()
            json.member("node_id", container.id)
            json.member("node_type", "container")
            json.member("node_name", "\(container.name) / \(nodeID)")
            json.member("timestamp", timestamp)
            json.member("uptime", uptime - 1000)
            json.member("pseudo", false)
            json.member("cpu_max", 100)
            json.member("cpu_usage", cpu / 10)
            json.member("memory_max", 4_127_395_840)
            json.member("memory_usage", container.memory)
            json.member("host_name", nodeID)
            json.member("docker_container_name", container.name)
            json.member("docker_container_command", "/entrypoint.sh run")
            json.member("docker_container_state", "running")
            json.member("docker_container_state_human", "Up 3 weeks")
            json.member("docker_container_network_mode", "default")
            json.member("docker_container_created", "2023-0\(container.created % 9 + 1)-1\(container.created % 9)T10:00:00Z")
            json.member("docker_label", "{}")
            if container.image >= 0 { json.member("docker_image_id", images[container.image].id) }
            json.endObject()
            json.key("parents")
            json.beginObject()
            json.member("host", nodeID)
            if container.image >= 0 { json.member("container_image", images[container.image].id) }
            json.endObject()
            json.endObject()
        }
        json.endObject()

        json.key("CloudProvider")
        json.beginObject()
        json.key("aws")
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.member("node_id", "aws")
        json.member("node_type", "cloud_provider")
        json.member("node_name", "AWS")
        json.member("timestamp", timestamp)
        json.member("pseudo", false)
        json.endObject()
        json.endObject()
        json.endObject()

        json.key("CloudRegion")
        json.beginObject()
        json.key("\(region)-aws")
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.member("node_id", "\(region)-aws")
        json.member("node_type", "cloud_region")
        json.member("node_name", region)
        json.member("timestamp", timestamp)
        json.member("cloud_provider", "aws")
        json.member("pseudo", false)
        json.endObject()
        json.key("parents")
        json.beginObject()
        json.member("cloud_provider", "aws")
        json.endObject()
        json.endObject()
        json.endObject()

        for empty in ["KubernetesCluster", "Pod", "Service", "Namespace"] {
            json.key(empty)
            json.beginObject()
            json.endObject()
        }

        json.key("ContainerImage")
        json.beginObject()
        for image in images {
            let repository = Catalog.imageRepositories[image.repository]
            let tag = Catalog.tags[image.tag]
            json.key(image.id)
            json.beginObject()
            json.key("metadata")
            json.beginObject()
            json.member("node_id", image.id)
            json.member("node_type", "container_image")
            json.member("node_name", "\(repository):\(tag)")
            json.member("timestamp", timestamp)
            json.member("pseudo", false)
            json.member("host_name", nodeID)
            json.member("docker_label", "null")
            json.member("docker_image_name", repository)
            json.member("docker_image_name_with_tag", "\(repository):\(tag)")
            json.member("docker_image_tag", tag)
            json.member("docker_image_size", "\(40 + image.repository * 13) MB")
            json.member("docker_image_created_at", "2023-01-0\(image.tag % 9 + 1)T00:00:00Z")
            json.endObject()
            json.key("parents")
            json.beginObject()
            json.member("host", nodeID)
            json.endObject()
            json.endObject()
        }
        json.endObject()

        json.key("Host")
        json.beginObject()
        json.key(nodeID)
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.member("node_id", nodeID)
        json.member("node_type", "host")
        json.member("node_name", nodeID)
        json.member("timestamp", timestamp)
        json.member("instance_id", "i-\(String(publicIP.utf8.count * 7919, radix: 16))")
        json.member("cloud_provider", "aws")
        json.member("public_ip", strings: [publicIP])
        json.member("private_ip", strings: [privateIP])
        json.member("cloud_region", region)
        json.member("uptime", uptime)
        json.member("pseudo", false)
        json.member("cpu_max", 100)
        json.member("cpu_usage", cpu)
        json.member("memory_max", 8_254_791_680)
        json.member("memory_usage", memory)
        json.member("version", "v2.5.6-loadtest")
        json.member("agent_running", true)
        json.member("kernel_version", "6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1")
        json.member("host_name", nodeID)
        json.member("os", "linux")
        json.member("interface_names", strings: ["lo", "eth0", "docker0"])
        json.member("interface_ips", strings: [publicIP, privateIP, "172.17.0.1"])
        json.member("local_cidr", strings: ["127.0.0.1/8", "\(privateIP)/20", "172.17.0.1/16"])
        json.endObject()
        json.key("parents")
        json.beginObject()
        json.member("cloud_provider", "aws")
        json.member("cloud_region", "\(region)-aws")
        json.endObject()
        json.endObject()
        json.endObject()
    }

    func renderCluster(_ json: inout JSONWriter, timestamp: String) {
        let clusterName = "cluster-\(nodeID.suffix(6))"
        for empty in ["Endpoint", "Process", "Container", "Host", "ContainerImage", "CloudProvider", "CloudRegion"] {
            json.key(empty)
            json.beginObject()
            json.endObject()
        }
        json.key("KubernetesCluster")
        json.beginObject()
        json.key(nodeID)
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.member("node_id", nodeID)
        json.member("node_type", "kubernetes_cluster")
        json.member("node_name", clusterName)
        json.member("timestamp", timestamp)
        json.member("agent_running", true)
        json.member("pseudo", false)
        json.endObject()
        json.endObject()
        json.endObject()

        json.key("Namespace")
        json.beginObject()
        for index in 0..<profile.namespaces {
            let name = Catalog.namespaceNames[index % Catalog.namespaceNames.count] + (index >= Catalog.namespaceNames.count ? "-\(index)" : "")
            let id = "\(nodeID)-\(name)"
            json.key(id)
            json.beginObject()
            json.key("metadata")
            json.beginObject()
            json.member("node_id", id)
            json.member("node_type", "namespace")
            json.member("node_name", "\(name) / \(clusterName)")
            json.member("timestamp", timestamp)
            json.member("kubernetes_cluster_id", nodeID)
            json.member("kubernetes_cluster_name", clusterName)
            json.endObject()
            json.key("parents")
            json.beginObject()
            json.member("kubernetes_cluster", nodeID)
            json.endObject()
            json.endObject()
        }
        json.endObject()

        for (topology, items, type) in [("Pod", pods, "pod"), ("Service", services, "service")] {
            json.key(topology)
            json.beginObject()
            for item in items {
                let namespace = Catalog.namespaceNames[item.namespace % Catalog.namespaceNames.count]
                json.key(item.uid)
                json.beginObject()
                json.key("metadata")
                json.beginObject()
                json.member("node_id", item.uid)
                json.member("node_type", type)
                json.member("node_name", "\(item.name) / \(namespace) / \(clusterName)")
                json.member("timestamp", timestamp)
                json.member("kubernetes_namespace", namespace)
                json.member("kubernetes_cluster_id", nodeID)
                json.member("kubernetes_cluster_name", clusterName)
                json.member("kubernetes_ip", item.ip)
                if type == "pod" {
                    json.member("kubernetes_state", "Running")
                    json.member("host_name", "\(clusterName)-node-\(item.namespace % 3)")
                } else {
                    json.member("kubernetes_type", "ClusterIP")
                }
                json.endObject()
                json.key("parents")
                json.beginObject()
                json.member("kubernetes_cluster", nodeID)
                json.member("namespace", "\(nodeID)-\(namespace)")
                json.endObject()
                json.endObject()
            }
            json.endObject()
        }
    }
}
