import Testing
@testable import LoadTestCore

/// The sensor's behaviour on a fake clock (seconds as numbers; nothing sleeps).
struct SensorStateMachineTests {
    @Test func startsWithLoginThenInitThenReportsAndPolls() {
        var machine = SensorStateMachine(start: 5, isClusterSensor: false, seed: 1)
        #expect(machine.nextAction(now: 0) == .sleep(until: 5))
        #expect(machine.nextAction(now: 5) == .login)
        machine.loginAnswered(.status(200, beatRate: nil), now: 5)
        #expect(machine.nextAction(now: 5) == .agentInit)
        machine.agentInitAnswered(.status(200, beatRate: 30), now: 5.1)
        #expect(machine.beatRate == 30)
        #expect(machine.nextAction(now: 5.1) == .sendReport)
        machine.reportAnswered(.status(200, beatRate: 30), now: 5.2)
        #expect(machine.nextAction(now: 5.2) == .sleep(until: 20.1))
        #expect(machine.nextAction(now: 20.1) == .poll)
        machine.pollAnswered(.status(200, beatRate: 30), now: 20.1)
        #expect(machine.nextAction(now: 20.2) == .sleep(until: 35.1))
        // The next poll (35.1) is due just before the next report (35.2).
        #expect(machine.nextAction(now: 35.2) == .poll)
        machine.pollAnswered(.status(200, beatRate: 30), now: 35.2)
        #expect(machine.nextAction(now: 35.2) == .sendReport)
    }

    @Test func clusterSensorsSkipAgentInit() {
        var machine = SensorStateMachine(start: 0, isClusterSensor: true, seed: 1)
        machine.loginAnswered(.status(200, beatRate: nil), now: 0)
        #expect(machine.nextAction(now: 0) == .sendReport)
    }

    @Test func obeysTheBeatRateTheConsoleAnswers() {
        var machine = running(at: 0)
        machine.reportAnswered(.status(200, beatRate: 120), now: 1)
        #expect(machine.beatRate == 120)
        #expect(machine.nextAction(now: 60) == .poll)  // the poll scheduled at the old rate comes first
        machine.pollAnswered(.status(200, beatRate: 120), now: 60)
        // Now every 60 s a poll, every 120 s a report.
        #expect(machine.nextAction(now: 61) == .sleep(until: 120))
        #expect(machine.nextAction(now: 120) == .poll)
        machine.pollAnswered(.status(200, beatRate: 120), now: 120)
        #expect(machine.nextAction(now: 120.5) == .sleep(until: 121))
        #expect(machine.nextAction(now: 121) == .sendReport)
    }

    @Test func aBeatOverrideIgnoresTheConsole() {
        var machine = SensorStateMachine(start: 0, isClusterSensor: true, beatOverride: 10, seed: 1)
        machine.loginAnswered(.status(200, beatRate: nil), now: 0)
        machine.reportAnswered(.status(200, beatRate: 300), now: 0)
        #expect(machine.beatRate == 10)
        #expect(machine.nextAction(now: 5) == .poll)
    }

    @Test func refreshesOn401AndRetriesTheReport() {
        var machine = running(at: 0)
        machine.reportAnswered(.status(401, beatRate: nil), now: 1)
        #expect(machine.nextAction(now: 1) == .refresh)
        machine.refreshAnswered(.status(200, beatRate: nil), now: 1)
        #expect(machine.nextAction(now: 1) == .sendReport)
    }

    @Test func aRefusedRefreshLogsInAgainWithoutAgentInit() {
        var machine = running(at: 0)
        machine.pollAnswered(.status(401, beatRate: nil), now: 2)
        #expect(machine.nextAction(now: 2) == .refresh)
        machine.refreshAnswered(.status(401, beatRate: nil), now: 2)
        #expect(machine.nextAction(now: 2) == .login)
        machine.loginAnswered(.status(200, beatRate: nil), now: 2)
        #expect(machine.nextAction(now: 2) != .agentInit)
        #expect(machine.isRunning)
    }

    @Test func backsOffARandomPartOfTheBeatOn503() {
        var waits: [Double] = []
        for seed in 1...50 as ClosedRange<UInt64> {
            var machine = SensorStateMachine(start: 0, isClusterSensor: true, seed: seed)
            machine.loginAnswered(.status(200, beatRate: nil), now: 0)
            machine.reportAnswered(.status(200, beatRate: 30), now: 0)
            machine.reportAnswered(.status(503, beatRate: nil), now: 30)
            // The next action is the poll (at 15) or the report after the back-off.
            machine.pollAnswered(.status(200, beatRate: 30), now: 30)
            guard case .sleep(let until) = machine.nextAction(now: 30) else { Issue.record("expected a wait"); return }
            waits.append(until - 30)
        }
        #expect(waits.allSatisfy { $0 >= 0 && $0 <= 30 })
        #expect(Set(waits.map { Int($0) }).count > 5)  // spread, not all at once
    }

    @Test func loginFailuresRetryEveryTenSeconds() {
        var machine = SensorStateMachine(start: 0, isClusterSensor: false, seed: 1)
        machine.loginAnswered(.transportFailure, now: 0)
        #expect(machine.nextAction(now: 5) == .sleep(until: 10))
        #expect(machine.nextAction(now: 10) == .login)
    }

    func running(at now: Double) -> SensorStateMachine {
        var machine = SensorStateMachine(start: now, isClusterSensor: false, seed: 1)
        machine.loginAnswered(.status(200, beatRate: nil), now: now)
        machine.agentInitAnswered(.status(200, beatRate: 30), now: now)
        machine.reportAnswered(.status(200, beatRate: 30), now: now)
        return machine
    }
}
