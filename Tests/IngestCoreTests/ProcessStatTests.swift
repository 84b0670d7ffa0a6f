import Testing
@testable import IngestCore

struct ProcessStatTests {
    @Test func fieldsAreCountedFromTheCommandNamesLastParenthesis() throws {
        // A command name with a space and parentheses of its own.
        let line = "4242 (con sole) (x)) S 1 4242 4242 0 -1 4194560 5180 0 0 0 250 75 0 0 20 0 17 0 123456 987654321 3000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0"
        let stat = try #require(ProcessStat(statLine: line))
        #expect(stat.cpuTicks == 325)
        #expect(stat.threads == 17)
        #expect(stat.residentPages == 3000)
        let text = stat.exposition(ticksPerSecond: 100, pageSize: 4096, openFiles: 12)
        #expect(text.contains("process_cpu_seconds_total 3.25\n"))
        #expect(text.contains("process_resident_memory_bytes 12288000\n"))
        #expect(text.contains("process_threads 17\n"))
        #expect(text.contains("process_open_fds 12\n"))
        #expect(!stat.exposition(ticksPerSecond: 100, pageSize: 4096, openFiles: nil).contains("process_open_fds"))
    }

    @Test func aTruncatedLineIsRefused() {
        #expect(ProcessStat(statLine: "4242 (console) S 1 4242") == nil)
        #expect(ProcessStat(statLine: "no parenthesis at all") == nil)
    }
}
