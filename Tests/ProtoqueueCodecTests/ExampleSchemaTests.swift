import TaskSchemas
import Testing

@Suite("Example task schemas (Protos/protoqueue/examples)")
struct ExampleSchemaTests {
    @Test func emailTask() throws {
        var task = EmailTask(to: "ada@example.com", subject: "Hi", templateID: "welcome-v3", priority: .high)
        task.templateValues = ["name": "Ada"]
        task.requester = Requester(accountID: "acct_1", service: "signup", traceID: "t-1")
        task.notBeforeUnix = 0
        task.attachments = [.init(fileName: "a.pdf", url: "s3://b/a.pdf", sizeBytes: 1234)]
        let decoded = try EmailTask(serializedBytes: task.serializedBytes())
        #expect(decoded == task)
        #expect(decoded.notBeforeUnix == 0)
        #expect(EmailTask.protoMessageName == "protoqueue.examples.EmailTask")
    }

    @Test func imageResizeTask() throws {
        let task = ImageResizeTask(
            sourceURL: "s3://uploads/cat.png",
            variants: [
                .init(width: 128, height: 128, format: .webp, quality: 80),
                .init(width: 1024, height: 768, format: .jpeg),
            ],
            priority: .low,
            notify: .replySubject("images.done")
        )
        let decoded = try ImageResizeTask(serializedBytes: task.serializedBytes())
        #expect(decoded == task)
        #expect(decoded.variants[1].quality == nil)
    }

    @Test func pipelineRecord() throws {
        let record = PipelineRecord(
            recordID: "r-1", stage: "ingest", sequence: .max, partition: -1,
            payload: Array(repeating: 0xAB, count: 4096),
            attributes: ["schema": "orders.v2"], checksums: ["crc32c": 0xDEAD_BEEF, "xxh64": .max],
            eventTimeMillis: 1_764_000_000_000, weight: 0.5)
        #expect(try PipelineRecord(serializedBytes: record.serializedBytes()) == record)
    }
}
