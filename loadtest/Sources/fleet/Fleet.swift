import ArgumentParser

/// The load-test harness of the ThreatMapper console.
@main
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Load-test a ThreatMapper console.",
        subcommands: [Run.self, Blast.self, Hold.self, Generate.self])
}
