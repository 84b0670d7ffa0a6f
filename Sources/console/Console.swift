import ArgumentParser

/// The ThreatMapper console's ingest tier: one executable, one subcommand per role.
@main
struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The ThreatMapper Management Console's ingest tier.",
        discussion: """
            Sensors log in with an API key and stream telemetry over TLS; the console stores the \
            current state of every node in PostgreSQL and writes only what changed.

            Every option can also be set with an environment variable CONSOLE_<NAME> (for example \
            CONSOLE_BEAT_RATE=60 for --beat-rate) or in a JSON file given with --config \
            ({"beatRate": "60"}). Command-line options win over the environment, which wins over the file.
            """,
        subcommands: [AllInOne.self, GatewayCommand.self, WorkerCommand.self, CoordinatorCommand.self, Migrate.self, APIKeyCommand.self, Status.self])
}
