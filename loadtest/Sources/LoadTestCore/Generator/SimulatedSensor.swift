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
        /// CPU use over the last beat, tenths of a percent; 0 (idle) is left out of the report,
        /// as a ThreatMapper sensor's `omitempty` leaves it out.
        var cpu: Int
    }

    /// The share of processes that used CPU over a beat: 11 of the 163 in the upstream sample
    /// report carry `cpu_usage`. A process's is drawn again whenever its metrics move, so it
    /// comes and goes.
    static let busyProcessShare = 0.07

    mutating func processCPU() -> Int { rng.chance(Self.busyProcessShare) ? 1 + Int(rng.next() % 400) : 0 }

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
    /// The IDs of `endpoints`: a report's topology is a JSON object, so a sensor never names an
    /// endpoint twice (random ports on a few addresses would, 16 times in a busy host's report).
    var endpointIDs: Set<String> = []
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
    /// Beats the world moved on: the pieces holding volatile metrics change with it.
    var beat: UInt64 = 0
    /// Per slice of ``sliceSize`` processes, endpoints and pods: moved on whenever what the
    /// slice renders changes, so a slice whose version stayed can be sent as rendered before.
    var processSlices: [UInt64] = []
    var endpointSlices: [UInt64] = []
    var podSlices: [UInt64] = []

    /// Entities per slice of a section (a piece of the report; see ``pieces()``).
    static let sliceSize = 8

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
        processSlices = Array(repeating: 0, count: Self.slices(processes.count))
        endpointSlices = Array(repeating: 0, count: Self.slices(endpoints.count))
        podSlices = Array(repeating: 0, count: Self.slices(pods.count))
    }

    /// Slices for `count` entities (one, empty, when there are none).
    static func slices(_ count: Int) -> Int { max(1, (count + sliceSize - 1) / sliceSize) }

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
            memory: Int(rng.next() % 400_000_000), openFiles: Int(rng.next() % 200), threads: 1 + Int(rng.next() % 32),
            cpu: processCPU())
    }

    /// A new endpoint, its ID not among `endpointIDs` (and added to them).
    mutating func newEndpoint() -> Endpoint {
        while true {
            let scoped = rng.chance(0.6)
            let address = scoped ? "127.0.0.1" : (rng.chance(0.5) ? publicIP : "198.51.\(rng.next() % 256).\(rng.next() % 254 + 1)")
            let port = 1024 + Int(rng.next() % 64_000)
            let pid = processes.isEmpty ? 1 : processes[Int(rng.next() % UInt64(processes.count))].pid
            let id = scoped ? "\(nodeID)-\(netns);\(address);\(port)" : ";\(address);\(port)"
            if endpointIDs.insert(id).inserted { return Endpoint(scoped: scoped, address: address, port: port, pid: pid, id: id) }
        }
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

    /// Moves the world one beat on: the host's and containers' metrics move; the processes of
    /// one slice (in turn) update theirs, so each process's metrics move every few beats; about
    /// `churn` of the processes exit and as many start, connections close and open, pods are
    /// replaced.
    public mutating func advance(seconds: Int) {
        beat &+= 1
        uptime += seconds
        cpu = max(0.5, min(95, cpu + Double(Int(rng.next() % 200) - 100) / 40))
        memory = max(500_000_000, memory + Int(rng.next() % 20_000_000) - 10_000_000)
        let churn = profile.churn
        let size = Self.sliceSize
        if !processes.isEmpty {
            let refreshed = Int(beat % UInt64(processSlices.count))
            for index in refreshed * size..<min((refreshed + 1) * size, processes.count) {
                processes[index].memory = max(100_000, processes[index].memory + Int(rng.next() % 2_000_000) - 1_000_000)
                processes[index].openFiles = max(0, processes[index].openFiles + Int(rng.next() % 5) - 2)
                processes[index].cpu = processCPU()
            }
            processSlices[refreshed] &+= 1
        }
        for index in processes.indices where rng.chance(churn) {
            processes[index] = newProcess()
            processSlices[index / size] &+= 1
        }
        // A connection renders in its source endpoint's adjacency, by its destination's ID.
        for index in connections.indices where rng.chance(churn * 2) {
            if let edge = newConnection() {
                endpointSlices[connections[index].0 / size] &+= 1
                endpointSlices[edge.0 / size] &+= 1
                connections[index] = edge
            }
        }
        for index in endpoints.indices where rng.chance(churn) {
            let replaced = endpoints[index].id
            endpoints[index] = newEndpoint()
            endpointIDs.remove(replaced)
            endpointSlices[index / size] &+= 1
            for (from, to) in connections where to == index { endpointSlices[from / size] &+= 1 }
        }
        for index in pods.indices where rng.chance(churn) {
            pods[index] = newPod(index)
            podSlices[index / size] &+= 1
        }
    }
}
