import Testing
@testable import IngestCore

struct SettingTextTests {
    @Test(arguments: [
        ("5ms", Duration.milliseconds(5)), ("30s", .seconds(30)), ("30", .seconds(30)), ("1.5s", .milliseconds(1500)),
        ("5m", .seconds(300)), ("26h", .seconds(93_600)), ("7d", .seconds(604_800)),
    ])
    func durations(_ text: String, _ expected: Duration) {
        #expect(SettingText.duration(text) == expected)
    }

    @Test(arguments: ["", "abc", "-5s", "5x", "s"])
    func badDurations(_ text: String) {
        #expect(SettingText.duration(text) == nil)
    }

    @Test(arguments: [("65536", 65536), ("64KiB", 65536), ("8MiB", 8 << 20), ("1GiB", 1 << 30), ("2MB", 2_000_000), ("10 M", 10 << 20)])
    func byteCounts(_ text: String, _ expected: Int) {
        #expect(SettingText.byteCount(text) == expected)
    }

    @Test(arguments: ["", "-1", "1.5MiB", "lots", "99999999999999999999GiB"])
    func badByteCounts(_ text: String) {
        #expect(SettingText.byteCount(text) == nil)
    }

    @Test func serverSettingsParseAndRefuseWhatCouldEscapeTheCommandLine() throws {
        let parsed = try SettingText.serverSettings(" max_wal_size=8GB, checkpoint_timeout = 15min,max_wal_size=4GB ").get()
        #expect(parsed.map(\.name) == ["checkpoint_timeout", "max_wal_size"])
        #expect(parsed.map(\.value) == ["15min", "4GB"])
        #expect(try SettingText.serverSettings("").get().isEmpty)
        for bad in ["max_wal_size", "=8GB", "max_wal_size=", "Max=1", "a=1;rm", "a='x'", "a=$(id)", "a=x y", "a=\"x\""] {
            #expect(throws: SettingProblem.self, "\(bad)") { try SettingText.serverSettings(bad).get() }
        }
    }
}
