import Foundation
import NATSServerHarness
import NATSTestSupport
import Testing

@testable import Protoqueue

/// Reads of a stream that another client is creating at that moment. nats-server 2.9.0 to 2.9.14 lists the stream
/// before its storage exists, and a message read arriving then crashed the whole server (the fault behind a
/// fresh-clone CI run whose shared 2.9.10 server died under the suite's parallel start). On a private server: readers
/// on four connections ask for a stream's last message while a fifth connection creates it, forty times over.
@Suite("Reads of a stream while another client creates it")
struct StreamCreationRaceTests {
    /// The last message on `<stream>.a`, asked for until the stream exists (a missing stream is an error), ≤ 10 s.
    private static func lastMessageOnceItExists(_ reader: NATSConnection, stream: String) async throws -> StoredMessage?
    {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                return try await reader.transport.lastMessage(
                    stream: stream, subject: "\(stream).a", operation: "read \(stream)")
            } catch {
                guard error.code == .streamNotFound, ContinuousClock.now < deadline else { throw error }
            }
        }
    }

    @Test(.enabled(if: TestEnvironment.privateServerTestsEnabled, "needs nats-server"))
    func readingAStreamThatIsBeingCreatedFindsItEmptyAndTheServerStaysUp() async throws {
        try await withNATSServer { server in
            var readers: [NATSConnection] = []
            for _ in 0..<4 { readers.append(try await connect(server.url)) }
            let creator = try RawNATS(url: server.url)
            for round in 0..<40 {
                let stream = "race_\(round)"
                let died = { "nats-server died in round \(round):\n\(server.logText().suffix(1500))" }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for reader in readers {
                        group.addTask {
                            let last = try await Self.lastMessageOnceItExists(reader, stream: stream)
                            #expect(last == nil)
                        }
                    }
                    group.addTask {
                        try await offCooperativePool {
                            try creator.createWorkQueueStream(stream, subjects: ["\(stream).>"])
                        }
                    }
                    do { try await group.waitForAll() } catch {
                        try #require(server.isRunning, Comment(rawValue: died()))
                        throw error
                    }
                }
                try #require(server.isRunning, Comment(rawValue: died()))
            }
            for reader in readers { await reader.close() }
        }
    }
}
