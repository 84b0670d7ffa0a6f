import IngestCore
import Testing

@Suite struct ActivityHistoryTests {
    typealias Totals = ActivityHistory.WorkerTotals
    static let minute: Int64 = 60_000

    @Test func minutesCountTheGrowthOfEachWorkersTotals() {
        var history = ActivityHistory(minutes: 3)
        let minute = Self.minute
        history.record(workers: [Totals(id: "a", committed: 100, refused: 5)], errors: 3, now: 10 * minute)  // the base
        history.record(workers: [Totals(id: "a", committed: 160, refused: 5)], errors: 4, now: 10 * minute + 30_000)
        history.record(workers: [Totals(id: "a", committed: 200, refused: 7)], errors: 4, now: 11 * minute + 1_000)
        let series = history.series(now: 11 * minute + 2_000)
        #expect(series.map(\.start) == [9 * minute, 10 * minute, 11 * minute])
        #expect(series.map(\.committed) == [0, 60, 40])
        #expect(series.map(\.refused) == [0, 0, 2])
        #expect(series.map(\.errors) == [0, 1, 0])
        // 40 reports in the 31 s since the sample before.
        #expect(abs((history.workerRates["a"] ?? 0) - 40.0 / 31.0) < 0.001)
    }

    @Test func aRestartedWorkerCountsFromZeroAndAnAbsentOneAddsNothing() {
        var history = ActivityHistory(minutes: 2)
        history.record(workers: [Totals(id: "a", committed: 500, refused: 0), Totals(id: "b", committed: 70, refused: 0)], errors: 0, now: 0)
        // a restarted (its total fell to 20: 20 since the restart); b did not answer.
        history.record(workers: [Totals(id: "a", committed: 20, refused: 0)], errors: 0, now: 10_000)
        // b is back with 90: 20 more than when last seen.
        history.record(workers: [Totals(id: "a", committed: 50, refused: 0), Totals(id: "b", committed: 90, refused: 0)], errors: 0, now: 20_000)
        #expect(history.series(now: 20_000).last?.committed == 20 + 30 + 20)
        // Each over its own interval: a 30 in 10 s, b 20 in the 20 s since it was last seen.
        #expect(history.workerRates == ["a": 3, "b": 1])
    }

    @Test func minutesOlderThanTheWindowAreDropped() {
        var history = ActivityHistory(minutes: 2)
        history.record(workers: [Totals(id: "a", committed: 0, refused: 0)], errors: 0, now: 0)
        history.record(workers: [Totals(id: "a", committed: 10, refused: 0)], errors: 0, now: 1_000)
        history.record(workers: [Totals(id: "a", committed: 20, refused: 0)], errors: 0, now: 5 * Self.minute)
        let series = history.series(now: 5 * Self.minute)
        #expect(series.map(\.committed) == [0, 10])
        #expect(series.map(\.start) == [4 * Self.minute, 5 * Self.minute])
    }
}
