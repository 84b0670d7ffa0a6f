import IngestCore
import IngestTransport
import NIOCore
import Synchronization

/// The findings, scan status and cloud resource routes: a request is split per node, each part
/// goes to its node's owner, and the sensor hears 200 only once every part is committed.
extension Gateway {
    func ingestFindings(_ request: HTTPRequest, route: IngestRoute, writer: ResponseWriter) {
        do {
            _ = try authenticator.authorize(authorization: request.headers.first(name: "authorization"), role: .sensor, now: clock.now())
        } catch {
            return respond(writer, error: error)
        }
        guard request.body.readableBytes > Self.inlineDecodeBytes else { return decodeAndSubmitFindings(request, route: route, writer: writer) }
        Task { self.decodeAndSubmitFindings(request, route: route, writer: writer) }
    }

    func decodeAndSubmitFindings(_ request: HTTPRequest, route: IngestRoute, writer: ResponseWriter) {
        let parts: [FindingsPart]
        do {
            parts = try FindingsRequest.parse(try decodeBody(request), route: route, limits: configuration.findingsLimits)
        } catch {
            return respond(writer, error: error)
        }
        guard !parts.isEmpty else { return writer.respond(.json(.ok, #"{"records":0,"nodes":0}"#)) }
        let deadline = ContinuousClock.now.advanced(by: configuration.forwardTimeout)
        let outcome = PartsOutcome(parts: parts.count)
        let metrics = self.metrics
        for part in parts {
            submit(part, deadline: deadline) { result in
                guard let answer = outcome.record(result) else { return }
                switch answer {
                case .success(let records):
                    metrics.findingRecords.increment(by: records)
                    writer.respond(.json(.ok, #"{"records":\#(records),"nodes":\#(parts.count)}"#))
                case .failure(let error):
                    metrics.error(error)
                    writer.respond(.error(error))
                }
            }
        }
    }

    /// Hands one node's part to its owner through the forwarder.
    func submit(
        _ part: FindingsPart, deadline: ContinuousClock.Instant? = nil, completion: @escaping @Sendable (Result<Int, IngestError>) -> Void
    ) {
        forwarder.forward(part.nodeID, deadline: deadline, { route, done in
            route.owner.submitFindings(part, shard: route.shard, epoch: route.epoch, completion: done)
        }, completion: completion)
    }
}

/// Collects the answers of a request's parts; the last one decides the response: every part
/// committed → the records stored; none → the first part's error; some → `partially_stored`
/// (503: the resend stores the rest, and nothing twice), or the refusal itself when the parts
/// that failed were refused for their data (4xx), which a resend would not change.
final class PartsOutcome: Sendable {
    struct State {
        var waiting: Int
        var records = 0
        var stored = 0
        var failures: [IngestError] = []
    }

    let parts: Int
    let state: Mutex<State>

    init(parts: Int) {
        self.parts = parts
        state = Mutex(State(waiting: parts))
    }

    /// Records one part's answer; returns the request's answer once every part has answered.
    func record(_ result: Result<Int, IngestError>) -> Result<Int, IngestError>? {
        state.withLock { state -> Result<Int, IngestError>? in
            switch result {
            case .success(let records):
                state.records += records
                state.stored += 1
            case .failure(let error):
                state.failures.append(error)
            }
            state.waiting -= 1
            guard state.waiting == 0 else { return nil }
            guard let first = state.failures.first else { return .success(state.records) }
            if state.stored == 0 { return .failure(first) }
            if let refusal = state.failures.first(where: { $0.httpStatus < 500 }) {
                return .failure(refusal.within("\(state.stored) of the \(parts) nodes' records were stored; the others were refused"))
            }
            return .failure(.partiallyStored(stored: state.stored, of: parts, cause: first))
        }
    }
}
