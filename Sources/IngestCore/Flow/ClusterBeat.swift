/// The one beat every gateway of a cluster stretches sensors to while what the gateways forward is
/// refused for load: decided by the coordinator leader from all the gateways' counts together.
///
/// ## Overview
/// Each gateway counts the reports and polls it forwards and those refused for load, and sends
/// both totals with its heartbeat. Each cycle the leader reads every gateway's totals, turns
/// them into what was forwarded and refused since its last read, and feeds the sum to one
/// ``BeatRateController``; the gateways read the beat back with their next heartbeat and send it
/// to the workers as the floor of the beat they answer. One controller over the whole cluster's
/// traffic: with a controller per gateway, gateways that share the same workers went apart (at
/// 100,000 sensors over six gateways, two eased to 44–102 s while four rose to 153–540 s), each
/// seeing only the refusals of its own sensors.
///
/// ## Implementation
/// A value type fed with what the catalog holds and the database's clock; it never reads one.
/// A gateway seen for the first time gives a baseline only (its totals ran before this leader
/// could see them); one seen with a new incarnation, or with totals that went down, restarted
/// and counts from zero, so its whole totals are new.
public struct ClusterBeat: Sendable {
    /// One gateway's totals as its last heartbeat wrote them.
    public struct Sample: Sendable, Hashable {
        public let id: String
        public let incarnation: Int64
        /// Reports and polls forwarded and answered, since the gateway started.
        public let forwarded: Int64
        /// Of them, those refused for load.
        public let refused: Int64

        public init(id: String, incarnation: Int64, forwarded: Int64, refused: Int64) {
            self.id = id
            self.incarnation = incarnation
            self.forwarded = forwarded
            self.refused = refused
        }
    }

    public private(set) var controller: BeatRateController
    var seen: [String: Sample] = [:]

    /// A leader's decision from the start: the beat `resuming` (a raised beat its predecessor
    /// published and that is still fresh), else the base.
    public init(configuration: BeatRateController.Configuration, resuming: Int?, now: Timestamp) {
        controller = resuming.map { BeatRateController(configuration: configuration, resuming: $0, at: now) }
            ?? BeatRateController(configuration: configuration)
    }

    /// The beat to publish: above the base, or nil when not raised (the gateways add no floor).
    public var published: Int? { controller.isRaised ? controller.beatRate : nil }

    /// Takes the gateways' totals read at `now` (every gateway not gone); returns the beat.
    @discardableResult
    public mutating func observe(_ gateways: [Sample], now: Timestamp) -> Int {
        var forwarded: Int64 = 0
        var refused: Int64 = 0
        var next: [String: Sample] = [:]
        for sample in gateways {
            next[sample.id] = sample
            guard let last = seen[sample.id] else { continue }
            if last.incarnation != sample.incarnation || sample.forwarded < last.forwarded || sample.refused < last.refused {
                forwarded += sample.forwarded
                refused += sample.refused
            } else {
                forwarded += sample.forwarded - last.forwarded
                refused += sample.refused - last.refused
            }
        }
        seen = next
        return controller.observe(forwarded: Int(clamping: forwarded), refused: Int(clamping: min(refused, forwarded)), now: now)
    }
}
