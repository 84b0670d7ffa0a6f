import Testing
@testable import LoadTestCore

struct ScenarioAndLossCheckTests {
    @Test func durations() {
        #expect(Scenario.seconds("90") == 90)
        #expect(Scenario.seconds("2m30s") == 150)
        #expect(Scenario.seconds("500ms") == 0.5)
        #expect(Scenario.seconds("1h") == 3600)
        #expect(Scenario.seconds("soon") == nil)
    }

    @Test func rampUpAndDownSchedule() {
        let scenario = Scenario(phases: [.init(sensors: 100, ramp: "100s", hold: "60s"), .init(sensors: 40, ramp: "30s", hold: "30s")])
        #expect(scenario.validate() == nil)
        #expect(scenario.duration == 220)
        let schedule = scenario.schedule()
        #expect(schedule.count == 100)
        #expect(schedule[0].start == 0)
        #expect(abs(schedule[50].start - 50) < 0.01)
        // The 60 sensors started last stop during the ramp down; the others run to the end.
        #expect(schedule[39].stop == 220)
        #expect(schedule[99].stop > 160 && schedule[99].stop <= 161)
        #expect(schedule[40].stop == 190)
    }

    @Test func withoutARampSensorsSpreadOverTheJitter() {
        let schedule = Scenario(phases: [.init(sensors: 1000, hold: "5m")], jitter: "20s").schedule()
        #expect(schedule.allSatisfy { $0.start >= 0 && $0.start < 20 && $0.stop == 300 })
        #expect(schedule.filter { $0.start < 10 }.count > 400)
    }

    @Test func mixPicksProfilesByWeight() {
        let scenario = Scenario(phases: [.init(sensors: 1000, hold: "1m")], mix: ["host": 0.8, "cluster": 0.2])
        let clusters = (0..<1000).filter { scenario.profile(of: $0).kind == .cluster }.count
        #expect(clusters > 150 && clusters < 250)
        #expect(scenario.profile(of: 3) == scenario.profile(of: 3))
    }

    @Test func badScenariosAreRefused() {
        #expect(Scenario(phases: []).validate() != nil)
        #expect(Scenario(phases: [.init(sensors: 1, hold: "x")]).validate() != nil)
        #expect(Scenario(phases: [.init(sensors: 1, hold: "1m")], mix: ["laptop": 1]).validate() != nil)
        #expect(Scenario(phases: [.init(sensors: 1, hold: "1m")], faults: [.init(at: "1m", action: "reboot")]).validate() != nil)
        #expect(Scenario(phases: [.init(sensors: 1, hold: "1m")], faults: [.init(at: "1m", action: "command")]).validate() != nil)
    }

    @Test func lossCheck() {
        var acknowledged = LossCheck.Ledger(nodeID: "a")
        acknowledged.sent("1", acknowledged: true, answered: true)
        acknowledged.sent("2", acknowledged: true, answered: true)
        var inDoubt = LossCheck.Ledger(nodeID: "b")
        inDoubt.sent("1", acknowledged: true, answered: true)
        inDoubt.sent("2", acknowledged: false, answered: false)
        var refused = LossCheck.Ledger(nodeID: "c")
        refused.sent("1", acknowledged: true, answered: true)
        refused.sent("2", acknowledged: false, answered: true)
        let never = LossCheck.Ledger(nodeID: "d")

        func held(_ report: String) -> LossCheck.Stored { LossCheck.Stored(reportID: report) }
        let good = LossCheck(ledgers: [acknowledged, inDoubt, refused, never], stored: ["a": held("2"), "b": held("2"), "c": held("1")])
        #expect(good.passed)
        #expect(good.sensorsChecked == 3)
        // Committed-but-unanswered is fine; an older ID (a lost write) or a missing node is not.
        #expect(LossCheck(ledgers: [inDoubt], stored: ["b": held("1")]).passed)
        let lost = LossCheck(ledgers: [acknowledged, refused], stored: ["a": held("1"), "c": held("2")])
        #expect(!lost.passed)
        #expect(lost.mismatches.map(\.nodeID) == ["a", "c"])
        let missing = LossCheck(ledgers: [acknowledged], stored: [:])
        #expect(missing.missingNodes == 1 && !missing.passed)
    }

    @Test func lossCheckComparesTheEntitiesOfTheReportHeld() {
        var ledger = LossCheck.Ledger(nodeID: "a")
        ledger.sent("1", content: "host=1 process=3 digest=01", acknowledged: true, answered: true)
        ledger.sent("2", content: "host=1 process=4 digest=02", acknowledged: false, answered: false)
        // The acknowledged report's entities, or the in-doubt one's when that committed.
        #expect(LossCheck(ledgers: [ledger], stored: ["a": .init(reportID: "1", content: "host=1 process=3 digest=01")]).passed)
        let committed = LossCheck(ledgers: [ledger], stored: ["a": .init(reportID: "2", content: "host=1 process=4 digest=02")])
        #expect(committed.passed && committed.contentChecked == 1)
        // The right report ID over a lost entity row fails.
        let lostRow = LossCheck(ledgers: [ledger], stored: ["a": .init(reportID: "1", content: "host=1 process=2 digest=07")])
        #expect(!lostRow.passed)
        #expect(lostRow.mismatches.first?.expectedContent == "host=1 process=3 digest=01")
        #expect(LossCheck.describe(lostRow.mismatches[0]).contains("entities differ"))
        // A console that does not report content is checked by report ID alone.
        let unchecked = LossCheck(ledgers: [ledger], stored: ["a": .init(reportID: "1")])
        #expect(unchecked.passed && unchecked.contentChecked == 0)
        // An answered refusal records nothing.
        var refused = LossCheck.Ledger(nodeID: "b")
        refused.sent("1", content: "x", acknowledged: true, answered: true)
        refused.sent("2", content: "y", acknowledged: false, answered: true)
        #expect(refused.contents == ["1": "x"])
    }

    @Test func htmlReportMarksFaultsAndEscapes() {
        var second = SecondSummary(second: 0)
        second.reportsAcknowledged = 5
        let window = RunResult.Window(from: 0, to: 1, sensors: 1, reportsPerSecond: 5, pollsPerSecond: 0, report: nil, poll: nil,
                                      statuses: [:], nonSuccess: 0, consoleCPUPercent: nil, consoleRSSBytesMax: nil)
        let result = RunResult(
            target: "https://x<y>", scenario: Scenario(phases: [.init(sensors: 1, hold: "1s")]), startedAt: "now", durationSeconds: 1,
            offered: [:], acknowledged: [:], statuses: ["200": 5], bytesSent: 0, latency: [:], overall: window, steady: nil,
            seconds: [second, second], faults: [.init(at: 1, action: "kill", outcome: "exited")], lossCheck: nil, failures: [])
        let html = HTMLReport.render(result)
        #expect(html.contains("x&lt;y&gt;"))
        #expect(html.contains("<svg"))
        #expect(html.contains("fill=\"#b00\">kill</text>"))
        #expect(html.contains("PASSED"))
    }
}
