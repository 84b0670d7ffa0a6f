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
}
