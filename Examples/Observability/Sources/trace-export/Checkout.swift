import Logging
import OTel
import Protoqueue
import ShopSchemas
import ShopWorkload
import Tracing

/// The request this example traces: a customer checks out a photo print, and the shop's queues do the rest.
///
/// | task | enqueued by | handler | `process` spans |
/// |---|---|---|---|
/// | `ResizeImage` `print-42` | the request | success, then enqueues the order's receipt | 1 |
/// | `SendReceipt` `order-42` | the `print-42` handler (the follow-up) | success | 1 |
/// | `ResizeImage` `corrupt` | the request | `.failure`: dead-lettered, `error.type` `failed` | 1 |
/// | `SendReceipt` `order-42-gift` | the request | throws ``ShopQueues/MailBounced`` on every attempt | 3 |
///
/// All of it is one trace: the request's span is the parent of each `send` span, each task's `process` spans are
/// children of the `send` span whose context the task carries, and the follow-up's `send` span is a child of the
/// `process` span of the handler that enqueued it.
struct Checkout: Sendable {
    /// The queues, opened with ``QueueTracing`` first in their middleware.
    let queues: ShopQueues
    /// Prefixes the task ids, so that runs against the same server do not collide in its duplicate window.
    let run: String

    /// Tasks the request enqueues; the worker enqueues one more (the receipt of the print).
    static let enqueuedByRequest = 3

    /// Handles `POST /checkout` inside a span of kind server, as an HTTP server's tracing middleware would open it.
    /// - Returns: The request's trace id (hex), as swift-otel reports it.
    func handle() async throws -> String? {
        try await withSpan("POST /checkout", ofKind: .server) { span in
            span.attributes["http.request.method"] = "POST"
            span.attributes["http.route"] = "/checkout"
            // The print's thumbnail. The order travels as task metadata: the handler mails its receipt once the
            // thumbnail is made.
            _ = try await queues.images.enqueue(
                ResizeImage(imageID: "print-42", width: 1280, height: 960),
                options: .init(id: "\(run)-print-42", metadata: ["order": "order-42", "email": "ada@example.com"]))
            // An upload that is not an image: its handler fails and the task is dead-lettered.
            _ = try await queues.images.enqueue(
                ResizeImage(imageID: "corrupt", width: 640, height: 480), options: .init(id: "\(run)-corrupt"))
            // A gift card's receipt to an address that bounces: retried, then dead-lettered.
            _ = try await queues.receipts.enqueue(
                SendReceipt(orderID: "order-42-gift", email: "bounce@example.com"),
                options: .init(id: "\(run)-receipt-order-42-gift"))
            span.attributes["http.response.status_code"] = 202
            return span.context.otelTraceID
        }
    }

    /// One worker for both queues that stops once both are idle. The `images` handler is
    /// ``ShopQueues/resize(_:attempt:)`` plus the follow-up: once a thumbnail is made, the receipt of the order in the
    /// task's metadata is enqueued, inside the handler's `process` span.
    func worker(logger: Logger) -> QueueWorker {
        var worker = QueueWorker(options: .init(concurrency: 4, stopWhenIdle: true), logger: logger)
        let receipts = queues.receipts
        worker.add(queues.images) { image, context in
            let result = try await ShopQueues.resize(image, attempt: context.attempt)
            if case .success = result, let order = context.metadata["order"], let email = context.metadata["email"] {
                _ = try await receipts.enqueue(
                    SendReceipt(orderID: order, email: email), options: .init(id: "\(context.id.rawValue)-receipt"))
            }
            return result
        }
        worker.add(queues.receipts) { receipt, _ in try await ShopQueues.mail(receipt) }
        return worker
    }
}
