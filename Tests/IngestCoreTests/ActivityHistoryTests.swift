import IngestCore
import Testing

@Suite struct ActivityHistoryTests {
    @Test func minutesCountTheGrowthOfTheTotals() {
        var history = ActivityHistory(minutes: 3)
        let minute: Int64 = 60_000
        history.record(committed: 100, refused: 5, now: 10 * minute)  // the first sample sets the base
        history.record(committed: 160, refused: 5, now: 10 * minute + 30_000)
        history.record(committed: 200, refused: 7, now: 11 * minute + 1_000)
        let series = history.series(now: 11 * minute + 2_000)
        #expect(series.map(\.start) == [9 * minute, 10 * minute, 11 * minute])
        #expect(series.map(\.committed) == [0, 60, 40])
        #expect(series.map(\.refused) == [0, 0, 2])
    }

    @Test func aFallInTheTotalsCountsAsNothing() {
        var history = ActivityHistory(minutes: 2)
        history.record(committed: 500, refused: 0, now: 0)
        history.record(committed: 20, refused: 0, now: 10_000)  // a worker restarted
        history.record(committed: 50, refused: 0, now: 20_000)
        #expect(history.series(now: 20_000).last?.committed == 30)
    }

    @Test func minutesOlderThanTheWindowAreDropped() {
        var history = ActivityHistory(minutes: 2)
        history.record(committed: 0, refused: 0, now: 0)
        history.record(committed: 10, refused: 0, now: 1_000)
        history.record(committed: 20, refused: 0, now: 5 * 60_000)
        let series = history.series(now: 5 * 60_000)
        #expect(series.map(\.committed) == [0, 10])
        #expect(series.map(\.start) == [4 * 60_000, 5 * 60_000])
    }
}
