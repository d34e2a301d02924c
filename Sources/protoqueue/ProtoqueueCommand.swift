import ArgumentParser

/// `protoqueue`: look into the queues of a NATS server as an operator.
@main
struct ProtoqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protoqueue",
        abstract: "Look into Protoqueue queues on a NATS server: depth, tasks as JSON, pause, schemas.",
        discussion: """
            Connection options follow the NATS command line (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, \
            NATS_CREDS, NATS_NKEY, NATS_CA, NATS_CERT, NATS_KEY are read when an option is not given). Every command \
            prints a table for people, or JSON with --json.

            Exit codes: 0 success; 1 a failure the server or the library reported; 2 no such queue, task or \
            schema; 3 a schema check found a breaking change; 4 the server is unreachable or refused the \
            credentials; 5 no permission; 64 a usage error.
            """,
        subcommands: [
            QueuesCommand.self, StatsCommand.self, PeekCommand.self, DeadLettersCommand.self, EnqueueCommand.self,
            PauseCommand.self, ResumeCommand.self, SchedulesCommand.self, TailCommand.self, SchemaCommand.self,
        ]
    )
}
