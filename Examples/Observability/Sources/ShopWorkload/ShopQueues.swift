public import Logging
public import Protoqueue
public import ShopSchemas

/// The example's two queues, the sample tasks it enqueues and what its worker does with them. Every outcome a
/// metric distinguishes happens at least once, the same way on every run:
///
/// | queue | task | handler | deliveries | final outcome |
/// |---|---|---|---|---|
/// | `images` | 4 images | success after `width / 200` ms | 1 each | acknowledged |
/// | `images` | `flaky` | `.retry` on attempt 1, then success | 2 | acknowledged |
/// | `images` | `corrupt` | `.failure` | 1 | dead-lettered, reason `failed` |
/// | `receipts` | 2 orders | success after 2 ms | 1 each | acknowledged |
/// | `receipts` | `bounce@…` | throws on every attempt | 3 | dead-lettered, reason `retriesExhausted` |
/// | `receipts` | `unsubscribed@…` | `.discard` | 1 | terminated |
public struct ShopQueues: Sendable {
    /// Images to resize.
    public let images: Queue<ResizeImage>
    /// Receipts to mail.
    public let receipts: Queue<SendReceipt>

    /// Attempts per task: the third failed attempt of a task that keeps throwing dead-letters it.
    public static let maxDeliveries = 3

    /// Opens both queues on `connection`, creating their streams and consumers when missing.
    /// - Parameters:
    ///   - connection: An open connection.
    ///   - middleware: The queues' middleware, e.g. `QueueMetrics`.
    ///   - logger: The queues' logger.
    public init(connection: NATSConnection, middleware: [any QueueMiddleware], logger: Logger) async throws {
        let configuration = QueueConfiguration(
            consumer: .init(maxDeliveries: Self.maxDeliveries), retry: .fixed(.milliseconds(200)))
        images = try await Queue(
            connection: connection, name: "images", configuration: configuration, middleware: middleware,
            logger: logger)
        receipts = try await Queue(
            connection: connection, name: "receipts", configuration: configuration, middleware: middleware,
            logger: logger)
    }

    /// Enqueues the sample tasks of the table above.
    /// - Parameter run: Prefixes the task ids, so that runs against the same server do not collide in its duplicate
    ///   window.
    /// - Returns: How many tasks were stored (10).
    public func enqueueSamples(run: String) async throws -> Int {
        let pictures = [("cat", 640), ("dog", 1280), ("boat", 2560), ("logo", 320), ("flaky", 640), ("corrupt", 640)]
        let resizes = pictures.map { name, width in
            EnqueueItem(
                ResizeImage(imageID: name, width: UInt32(width), height: UInt32(width * 3 / 4)),
                options: .init(id: "\(run)-image-\(name)"))
        }
        let emails = ["ada@example.com", "alan@example.com", "bounce@example.com", "unsubscribed@example.com"]
        let mails = emails.enumerated().map { index, email in
            EnqueueItem(
                SendReceipt(orderID: "order-\(index + 1)", email: email), options: .init(id: "\(run)-receipt-\(index)"))
        }
        let stored = try await images.enqueueBatch(resizes) + receipts.enqueueBatch(mails)
        return try stored.map { try $0.get() }.count
    }

    /// One worker for both queues.
    /// - Parameters:
    ///   - options: The worker's budget over both queues.
    ///   - logger: The worker's logger.
    public func worker(options: ProcessOptions = .init(concurrency: 4), logger: Logger) -> QueueWorker {
        var worker = QueueWorker(options: options, logger: logger)
        worker.add(images) { image, context in try await Self.resize(image, attempt: context.attempt) }
        worker.add(receipts) { receipt, _ in try await Self.mail(receipt) }
        return worker
    }

    /// The mail server refused a receipt; thrown on every attempt, so the task is retried, then dead-lettered.
    public struct MailBounced: Error, CustomStringConvertible {
        /// The refused address.
        public var email: String
        public var description: String { "550 mailbox unavailable: \(email)" }
    }

    /// The `images` handler of the table above: `corrupt` fails, `flaky` asks for a retry on its first attempt, any
    /// other image succeeds after `width / 200` ms.
    public static func resize(_ image: ResizeImage, attempt: Int) async throws -> TaskResult {
        switch image.imageID {
        case "corrupt": return .failure("\(image.imageID) is not an image", details: ["image": image.imageID])
        case "flaky" where attempt == 1: return .retry(after: .milliseconds(100))
        default:
            try await Task.sleep(for: .milliseconds(Int(image.width) / 200))
            return .success
        }
    }

    /// The `receipts` handler of the table above: a `bounce@` address throws ``MailBounced``, an `unsubscribed@`
    /// address is discarded, any other succeeds after 2 ms.
    public static func mail(_ receipt: SendReceipt) async throws -> TaskResult {
        if receipt.email.hasPrefix("bounce@") { throw MailBounced(email: receipt.email) }
        if receipt.email.hasPrefix("unsubscribed@") { return .discard(reason: "customer unsubscribed") }
        try await Task.sleep(for: .milliseconds(2))
        return .success
    }
}
