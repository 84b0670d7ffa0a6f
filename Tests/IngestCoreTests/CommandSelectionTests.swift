import IngestCore
import Testing

struct CommandSelectionTests {
    static func command(_ id: Int64, _ action: ThreatMapperAction) -> AgentCommand {
        AgentCommand(commandID: id, actionID: action.rawValue, requestPayload: #"{"bin_args":{"scan_id":"n-\#(id)"}}"#)
    }

    @Test func scansGoOutOnlyIntoFreeSlotsAndStopCommandsAlways() {
        let pending = [
            Self.command(1, .startSecretScan), Self.command(2, .stopMalwareScan), Self.command(3, .startMalwareScan),
            Self.command(4, .startVulnerabilityScan),
        ]
        let (deliver, keep) = CommandSelection.select(pending, availableWorkload: 2)
        #expect(deliver.map(\.commandID) == [1, 2, 3])
        #expect(keep.map(\.commandID) == [4])
        let none = CommandSelection.select(pending, availableWorkload: -3)
        #expect(none.deliver.map(\.commandID) == [2])
        #expect(none.keep.map(\.commandID) == [1, 3, 4])
    }

    @Test func scansAwaitingStartTakeTheSlotsTheSensorStillOffers() {
        let pending = [Self.command(1, .startSecretScan), Self.command(2, .startMalwareScan), Self.command(3, .stopSecretScan)]
        #expect(CommandSelection.select(pending, availableWorkload: 2, awaitingStart: 1).deliver.map(\.commandID) == [1, 3])
        #expect(CommandSelection.select(pending, availableWorkload: 2, awaitingStart: 2).deliver.map(\.commandID) == [3])
        #expect(CommandSelection.select(pending, availableWorkload: 1, awaitingStart: 5).deliver.map(\.commandID) == [3])
    }

    @Test func aDeliveredScanHoldsItsSlotUntilReportedOnOrTimedOut() {
        var awaiting = ScansAwaitingStart()
        let start = Timestamp(milliseconds: 1_000_000)
        awaiting.delivered(["a", "b"], at: start)
        #expect(awaiting.held(at: start.advanced(by: .seconds(10)), timeout: .seconds(60)) == 2)
        awaiting.reported(["a", "unknown"])
        #expect(awaiting.held(at: start.advanced(by: .seconds(10)), timeout: .seconds(60)) == 1)
        awaiting.delivered(["c"], at: start.advanced(by: .seconds(30)))
        // "b" times out at 60 s; "c", delivered later, still holds its slot.
        #expect(awaiting.held(at: start.advanced(by: .seconds(61)), timeout: .seconds(60)) == 1)
        // Without a stall timeout, slots are held until the sensor reports.
        awaiting.delivered(["d"], at: start)
        #expect(awaiting.held(at: start.advanced(by: .seconds(86_400)), timeout: .zero) == 2)
        // A reload keeps the later of two delivery times.
        awaiting.delivered("c", at: start)
        #expect(awaiting.held(at: start.advanced(by: .seconds(80)), timeout: .seconds(60)) == 1)
    }

    @Test(arguments: [
        (#"{"node_id":"x","bin_args":{"scan_id":"x-17","node_id":"x"}}"#, "x-17" as String?),
        (#"{"bin_args":{}}"#, nil), (#"{"bin_args":"x-1"}"#, nil), ("not json", nil), (#"{"scan_id":"top"}"#, nil),
    ])
    func commandPayloadsNameTheirScan(payload: String, scan: String?) {
        #expect(ScanID.named(inPayload: payload) == scan)
    }
}
