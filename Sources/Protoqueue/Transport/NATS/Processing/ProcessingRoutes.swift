import Synchronization

/// Which processor a message goes to.
struct Routes {
    private struct Route {
        /// `$JS.ACK.<stream>.<consumer>.`: how the acknowledgement subject of the consumer's deliveries begins.
        var ackPrefix: [UInt8]
        /// The same for servers with domains: `.<stream>.<consumer>.` after `$JS.ACK.<domain>.<account hash>`.
        var domainInfix: [UInt8]
        var engine: ProcessorEngine
    }

    private(set) var byID: [UInt64: ProcessorEngine] = [:]
    private var routes: [Route] = []

    mutating func add(_ engine: ProcessorEngine) {
        byID[engine.id] = engine
        let names = "\(engine.layout.streamName).\(engine.layout.consumerName)."
        routes.append(
            Route(ackPrefix: Array("$JS.ACK.\(names)".utf8), domainInfix: Array(".\(names)".utf8), engine: engine))
    }

    /// The processors of the consumer a denied subject names: an acknowledgement (`$JS.ACK.<stream>.<consumer>.…`,
    /// domain form too) or a JetStream API request about it (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`).
    func engines(concernedBy subject: String?) -> [ProcessorEngine] {
        guard let subject, subject.hasPrefix("$JS.ACK.") || subject.hasPrefix("$JS.API.") else { return [] }
        let bytes = Array(subject.utf8) + [UInt8(ascii: ".")]
        return routes.filter { route in
            bytes.starts(with: route.ackPrefix) || Self.contains(bytes, route.domainInfix)
        }.map(\.engine)
    }

    private static func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
        guard bytes.count >= part.count else { return false }
        return (0...(bytes.count - part.count)).contains { bytes[$0...].starts(with: part) }
    }

    mutating func remove(_ engine: ProcessorEngine) {
        byID[engine.id] = nil
        routes.removeAll { $0.engine === engine }
    }

    /// The processor for a delivery whose acknowledgement subject is `subject`: the one of the consumer it names,
    /// or with several processors of that consumer on this connection, the first still waiting for deliveries.
    /// Compared as bytes: this runs once per delivery.
    func engine(forAckSubject subject: UnsafePointer<CChar>) -> ProcessorEngine? {
        NATSMessageReader.bytes(of: subject) { reply in
            var first: ProcessorEngine?
            for route in routes where Self.names(route, reply) {
                guard let earlier = first else {
                    first = route.engine
                    continue
                }
                // Several processors of this consumer: one still waiting for deliveries takes it.
                if earlier.awaitsDeliveries { return earlier }
                if route.engine.awaitsDeliveries { return route.engine }
            }
            return first
        }
    }

    /// Whether `reply` is an acknowledgement subject of the route's consumer, in the 9-token or the domain form.
    private static func names(_ route: Route, _ reply: UnsafeBufferPointer<UInt8>) -> Bool {
        if reply.starts(with: route.ackPrefix) { return true }
        // $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.…: the names after the fourth dot.
        var dots = 0
        for index in reply.indices where reply[index] == UInt8(ascii: ".") {
            dots += 1
            if dots == 4 { return reply[index...].starts(with: route.domainInfix) }
        }
        return false
    }
}
