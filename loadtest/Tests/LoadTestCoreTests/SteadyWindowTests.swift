import Testing
@testable import LoadTestCore

struct SteadyWindowTests {
    @Test func theWindowIsCutToWholeBeatsAtItsStart() throws {
        // 30-s ramp, 150 s held: one beat after the ramp to the end is 90–180 s.
        let sixty = try #require(SteadyWindow.seconds(lastStart: 30, firstStop: 180, beat: 60))
        #expect(sixty.from == 120 && sixty.to == 180)
        let thirty = try #require(SteadyWindow.seconds(lastStart: 30, firstStop: 180, beat: 30))
        #expect(thirty.from == 60 && thirty.to == 180)
        // Starts and stops between seconds: the window stays inside them.
        let odd = try #require(SteadyWindow.seconds(lastStart: 29.4, firstStop: 200.7, beat: 20))
        #expect(odd.from == 60 && odd.to == 200)
    }

    @Test func aSpanShorterThanABeatIsKeptAndTooShortAOneIsNone() throws {
        let short = try #require(SteadyWindow.seconds(lastStart: 30, firstStop: 110, beat: 60))
        #expect(short.from == 90 && short.to == 110)
        #expect(SteadyWindow.seconds(lastStart: 30, firstStop: 99, beat: 60) == nil)
        #expect(SteadyWindow.seconds(lastStart: 30, firstStop: 100, beat: 60, minimumSeconds: 5) != nil)
    }

    /// Sensors started over a 30-s ramp report every 60 s and poll every 30 s: in the window the
    /// reports and polls stand as they do over a long run, two polls a report; the uncut span
    /// (90–180 s) held one report of each sensor and three of its polls.
    @Test func aWholeBeatWindowHoldsTwoPollsAReport() throws {
        let starts = (0..<600).map { Double($0) * 30 / 600 }
        func counts(_ from: Int, _ to: Int) -> (reports: Int, polls: Int) {
            var reports = 0, polls = 0
            for start in starts {
                for k in 0..<10 where (Double(from)..<Double(to)).contains(start + Double(k) * 60) { reports += 1 }
                for k in 1..<20 where (Double(from)..<Double(to)).contains(start + Double(k) * 30) { polls += 1 }
            }
            return (reports, polls)
        }
        let window = try #require(SteadyWindow.seconds(lastStart: starts.max()!, firstStop: 180, beat: 60))
        let cut = counts(window.from, window.to)
        #expect(cut.reports == 600 && cut.polls == 1200)
        let uncut = counts(90, 180)
        #expect(uncut.reports == 600 && uncut.polls == 1800)
    }
}
