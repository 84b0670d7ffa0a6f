/// The report as a sequence of pieces of JSON text, so a fleet can keep each piece compressed
/// and compress again only the pieces that changed since the sensor's last report.
///
/// A piece is a fragment of the document: the head (report ID and time, new every report), a
/// slice of ``SimulatedSensor/sliceSize`` processes, endpoints or pods, the containers, the
/// host, or a part that never changes. A piece's text depends only on its key and version: a
/// piece whose version did not move renders as it did (apart from the `timestamp` members it
/// carries, which keep the time it was last rendered at, as an entity's state does).
extension SimulatedSensor {
    /// One piece of the report.
    public struct Piece: Sendable, Hashable {
        /// Stable while the sensor lives: the section and the slice in it.
        public let key: UInt32
        /// Moves whenever the piece's text does; nil for the head, new with every report.
        public let version: UInt64?
    }

    enum Section: UInt32 {
        case head, endpoints, processes, containers, fixed, host, pods, clusterFixed, clusterHead
    }

    static func key(_ section: Section, _ slice: Int = 0) -> UInt32 { section.rawValue << 24 | UInt32(slice) }

    /// The report's pieces, in document order.
    public func pieces() -> [Piece] {
        var pieces = [Piece(key: Self.key(.head), version: nil)]
        switch profile.kind {
        // What never changes comes right after the head, what changes every beat last: a
        // fleet compresses each piece against the one before it, so a piece that changed makes
        // the next one compress again too.
        case .host:
            pieces.append(Piece(key: Self.key(.fixed), version: 0))
            for (slice, version) in endpointSlices.enumerated() { pieces.append(Piece(key: Self.key(.endpoints, slice), version: version)) }
            for (slice, version) in processSlices.enumerated() { pieces.append(Piece(key: Self.key(.processes, slice), version: version)) }
            pieces.append(Piece(key: Self.key(.containers), version: beat))
            pieces.append(Piece(key: Self.key(.host), version: beat))
        case .cluster:
            pieces.append(Piece(key: Self.key(.clusterFixed), version: 0))
            for (slice, version) in podSlices.enumerated() { pieces.append(Piece(key: Self.key(.pods, slice), version: version)) }
            pieces.append(Piece(key: Self.key(.clusterHead), version: beat))
        }
        return pieces
    }

    /// The report as JSON, as a ThreatMapper sensor sends it before gzip: every piece rendered now.
    public func render(reportID: String, timestamp: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for text in render(pieces(), reportID: reportID, timestamp: timestamp) { bytes.append(contentsOf: text) }
        return bytes
    }

    /// The texts of the given pieces (of ``pieces()``), in the order given.
    public func render(_ pieces: [Piece], reportID: String, timestamp: String) -> [[UInt8]] {
        // Each endpoint's adjacency, worked out once for all the endpoint slices asked for.
        var adjacency: [[Int]]?
        return pieces.map { piece in
            let slice = Int(piece.key & 0xFF_FFFF)
            switch Section(rawValue: piece.key >> 24) {
            case .head: return head(reportID: reportID, timestamp: timestamp)
            case .endpoints:
                if adjacency == nil {
                    var edges = [[Int]](repeating: [], count: endpoints.count)
                    for (from, to) in connections where from < endpoints.count && to < endpoints.count { edges[from].append(to) }
                    adjacency = edges
                }
                return section("Endpoint", slice: slice, of: endpoints.count) { json, index in
                    writeEndpoint(&json, index, peers: adjacency![index], timestamp: timestamp)
                }
            case .processes:
                return section("Process", slice: slice, of: processes.count) { json, index in
                    writeProcess(&json, processes[index], timestamp: timestamp)
                }
            case .pods:
                return section("Pod", slice: slice, of: pods.count) { json, index in
                    writeKubernetes(&json, pods[index], type: "pod", timestamp: timestamp)
                }
            case .containers:
                return section("Container", slice: 0, of: containers.count) { json, index in
                    writeContainer(&json, containers[index], timestamp: timestamp)
                }
            case .fixed: return hostFixed(timestamp: timestamp)
            case .host: return hostEntity(timestamp: timestamp)
            case .clusterHead: return clusterEntity(timestamp: timestamp)
            case .clusterFixed: return clusterFixed(timestamp: timestamp)
            case nil: return []
            }
        }
    }

    // MARK: Pieces

    /// Opens an entity and its `metadata`, with the members every entity starts with.
    static func openEntity(_ json: inout JSONWriter, id: String, type: String, name: String, timestamp: String) {
        json.key(id)
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.member("node_id", id)
        json.member("node_type", type)
        json.member("node_name", name)
        json.member("timestamp", timestamp)
    }

    /// `{"TS":…,"ID":…,…`: the document's opening, with what is new in every report.
    func head(reportID: String, timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.member("TS", timestamp)
        json.member("ID", reportID)
        json.key("Overlay")
        json.beginObject()
        json.endObject()
        json.member("Window", 30_000_000_000)
        json.member("Shortcut", false)
        return json.bytes
    }

    /// Slice `slice` of a section of `count` entities: the first opens the section, the last
    /// closes it.
    func section(_ name: String, slice: Int, of count: Int, _ write: (inout JSONWriter, Int) -> Void) -> [UInt8] {
        let size = name == "Container" ? max(count, 1) : Self.sliceSize
        let range = slice * size..<min((slice + 1) * size, count)
        var json = JSONWriter(capacity: 600 * range.count + 32, continuing: slice == 0 ? [true] : [true, true])
        if slice == 0 {
            json.key(name)
            json.beginObject()
        }
        for index in range { write(&json, index) }
        if range.upperBound >= count { json.endObject() }
        return json.bytes
    }

    func writeEndpoint(_ json: inout JSONWriter, _ index: Int, peers: [Int], timestamp: String) {
        let endpoint = endpoints[index]
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
        if !peers.isEmpty { json.member("adjacency", strings: peers.map { endpoints[$0].id }) }
        json.endObject()
    }

    func writeProcess(_ json: inout JSONWriter, _ process: Process, timestamp: String) {
        let executable = Catalog.executables[process.executable]
        let id = "\(nodeID);\(process.pid)"
        Self.openEntity(&json, id: id, type: "process", name: executable.path, timestamp: timestamp)
        json.member("pseudo", false)
        json.member("cpu_max", 200)
        if process.cpu > 0 { json.member("cpu_usage", Double(process.cpu) / 10) }
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

    func writeContainer(_ json: inout JSONWriter, _ container: Container, timestamp: String) {
        Self.openEntity(&json, id: container.id, type: "container", name: "\(container.name) / \(nodeID)", timestamp: timestamp)
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

    var region: String { "region-\(nodeID.utf8.count % 7)" }

    /// The cloud provider and region, the empty Kubernetes sections and the images: a host's
    /// part that does not change.
    func hostFixed(timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 1_000 * (images.count + 2), continuing: [true])
        json.key("CloudProvider")
        json.beginObject()
        Self.openEntity(&json, id: "aws", type: "cloud_provider", name: "AWS", timestamp: timestamp)
        json.member("pseudo", false)
        json.endObject()
        json.endObject()
        json.endObject()

        json.key("CloudRegion")
        json.beginObject()
        Self.openEntity(&json, id: "\(region)-aws", type: "cloud_region", name: region, timestamp: timestamp)
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
            Self.openEntity(&json, id: image.id, type: "container_image", name: "\(repository):\(tag)", timestamp: timestamp)
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
        return json.bytes
    }

    /// The host entity, with its metrics, and the document's end.
    func hostEntity(timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 1_600, continuing: [true])
        json.key("Host")
        json.beginObject()
        Self.openEntity(&json, id: nodeID, type: "host", name: nodeID, timestamp: timestamp)
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
        json.endObject()
        return json.bytes
    }

    var clusterName: String { "cluster-\(nodeID.suffix(6))" }

    /// The empty host sections, the cluster entity, and the document's end.
    func clusterEntity(timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 600, continuing: [true])
        for empty in ["Endpoint", "Process", "Container", "Host", "ContainerImage", "CloudProvider", "CloudRegion"] {
            json.key(empty)
            json.beginObject()
            json.endObject()
        }
        json.key("KubernetesCluster")
        json.beginObject()
        Self.openEntity(&json, id: nodeID, type: "kubernetes_cluster", name: clusterName, timestamp: timestamp)
        json.member("agent_running", true)
        json.member("pseudo", false)
        json.endObject()
        json.endObject()
        json.endObject()
        json.endObject()
        return json.bytes
    }

    /// The namespaces and services: a cluster's part that does not change.
    func clusterFixed(timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 600 * (profile.namespaces + services.count) + 64, continuing: [true])
        json.key("Namespace")
        json.beginObject()
        for index in 0..<profile.namespaces {
            let name = Catalog.namespaceNames[index % Catalog.namespaceNames.count] + (index >= Catalog.namespaceNames.count ? "-\(index)" : "")
            let id = "\(nodeID)-\(name)"
            Self.openEntity(&json, id: id, type: "namespace", name: "\(name) / \(clusterName)", timestamp: timestamp)
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
        json.key("Service")
        json.beginObject()
        for service in services { writeKubernetes(&json, service, type: "service", timestamp: timestamp) }
        json.endObject()
        return json.bytes
    }

    func writeKubernetes(_ json: inout JSONWriter, _ item: Pod, type: String, timestamp: String) {
        let namespace = Catalog.namespaceNames[item.namespace % Catalog.namespaceNames.count]
        Self.openEntity(&json, id: item.uid, type: type, name: "\(item.name) / \(namespace) / \(clusterName)", timestamp: timestamp)
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
}
