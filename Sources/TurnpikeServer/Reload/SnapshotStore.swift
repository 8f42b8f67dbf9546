public import NIOCore
import Synchronization
public import TurnpikeEngine

/// The active snapshot, one copy per event loop.
///
/// Request code reads its loop's slot with no lock and no atomic; only `publish` writes, and only
/// by hopping onto each loop. Connections pick their slot once, at channel setup.
public final class SnapshotStore: Sendable {
    private let authoritative: Mutex<Snapshot>
    private let slots: [NIOLoopBoundBox<Snapshot>]

    /// Creates one slot per loop of `group`, all holding `initial`.
    public init(initial: Snapshot, group: any EventLoopGroup) {
        self.authoritative = Mutex(initial)
        var slots: [NIOLoopBoundBox<Snapshot>] = []
        for loop in group.makeIterator() {
            slots.append(NIOLoopBoundBox.makeBoxSendingValue(initial, as: Snapshot.self, eventLoop: loop))
        }
        self.slots = slots
    }

    /// The snapshot the admin API and the reloader see (takes a lock: not for the hot path).
    public var current: Snapshot {
        self.authoritative.withLock { $0 }
    }

    /// The slot of `loop`; nil when the loop is not part of the group this store was made for.
    public func slot(for loop: any EventLoop) -> NIOLoopBoundBox<Snapshot>? {
        self.slots.first { $0.eventLoop === loop }
    }

    /// Makes `next` the snapshot every loop hands to new requests. In-flight requests keep the
    /// snapshot they started with; it is freed with their last reference.
    public func publish(_ next: Snapshot) async throws {
        self.authoritative.withLock { $0 = next }
        for slot in self.slots {
            // The closure captures the slot and the snapshot only, never the store.
            try await slot.eventLoop.submit { slot.value = next }.get()
        }
    }
}
