import Testing

@testable import Protoqueue

/// The hand-off between the fetch thread and the handler tasks: queued items go out in order, parked handlers are
/// served before the processing loop, at most `maxParked` park, and closing releases every waiter.
@Suite("Hand-off queue")
struct HandOffQueueTests {
    /// Polls until `condition` holds; parking happens on another task.
    private func until(_ condition: () -> Bool) async {
        for _ in 0..<2_000 where !condition() { try? await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func queuedItemsGoOutInOrderWithoutWaiting() async {
        let queue = HandOffQueue<Int>(maxParked: 2)
        queue.handOver([1, 2])
        queue.handOver(3)
        #expect(queue.take() == 1)
        #expect(await queue.next() == 2)
        #expect(await queue.park() == 3)
        #expect(queue.take() == nil)
    }

    @Test func aParkedHandlerGetsTheNextItemBeforeTheLoop() async {
        let queue = HandOffQueue<Int>(maxParked: 1)
        let parked = Task { await queue.park() }
        await until { queue.waiting.parked == 1 }
        let loop = Task { await queue.next() }
        await until { queue.waiting.loop }
        queue.handOver(7)
        #expect(await parked.value == 7)
        queue.handOver([8, 9])
        #expect(await loop.value == 8)
        #expect(queue.take() == 9)
    }

    @Test func handlersBeyondTheLimitDoNotPark() async {
        let queue = HandOffQueue<Int>(maxParked: 2)
        let first = Task { await queue.park() }
        let second = Task { await queue.park() }
        await until { queue.waiting.parked == 2 }
        #expect(await queue.park() == nil)
        queue.handOver([1, 2, 3])
        // The most recently parked is woken first; the third item waits in the queue.
        let woken = await [first.value, second.value].compactMap { $0 }.sorted()
        #expect(woken == [1, 2])
        #expect(queue.take() == 3)
    }

    @Test func closingReleasesEveryWaiterAndKeepsQueuedItemsForDrain() async {
        let queue = HandOffQueue<Int>(maxParked: 4)
        let parked = Task { await queue.park() }
        let loop = Task { await queue.next() }
        await until { queue.waiting.parked == 1 && queue.waiting.loop }
        queue.close()
        #expect(await parked.value == nil)
        #expect(await loop.value == nil)
        queue.handOver([5, 6])
        queue.handOver(7)
        #expect(await queue.park() == nil)
        #expect(await queue.next() == nil)
        #expect(queue.take() == nil)
        #expect(queue.drain() == [5, 6, 7])
    }
}
