import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Lines written to a file descriptor by a thread of its own, never by an event loop: a loop
/// only appends to a queue under a short lock. The queue is bounded: when full, the oldest line
/// is dropped and counted (a log that cannot keep up must not take the gateway's memory).
/// `--access-log json` writes through one to stderr; file-log will write through one per path.
public final class LineWriter: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[UInt8]] = []
    private var head = 0
    private var stopped = false
    /// A batch taken off the queue and not yet written.
    private var writing = false
    private let fd: Int32
    private let capacity: Int
    /// Lines dropped because the queue was full (read under the lock).
    private var droppedCount = 0

    public init(fd: Int32, capacity: Int = 10_000, name: String) {
        self.fd = fd
        self.capacity = capacity
        let thread = Thread { [self] in self.drain() }
        thread.name = name
        thread.start()
    }

    /// Queues one line (a newline is added).
    public func append(_ line: [UInt8]) {
        self.condition.lock()
        if self.queue.count - self.head >= self.capacity {
            // The oldest line goes, its memory too; the skipped slots are compacted now and then.
            self.queue[self.head] = []
            self.head += 1
            self.droppedCount += 1
            if self.head >= self.capacity {
                self.queue.removeFirst(self.head)
                self.head = 0
            }
        }
        self.queue.append(line)
        // Broadcast: `waitUntilWritten` waits on the same condition as the writer thread.
        self.condition.broadcast()
        self.condition.unlock()
    }

    public var dropped: Int {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.droppedCount
    }

    /// Writes what is queued, then stops the thread.
    public func stop() {
        self.condition.lock()
        self.stopped = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Waits until every line queued so far is written (tests, shutdown).
    public func waitUntilWritten(timeout seconds: Double = 5) {
        let deadline = Date().addingTimeInterval(seconds)
        self.condition.lock()
        while (self.head < self.queue.count || self.writing) && Date() < deadline {
            _ = self.condition.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
        }
        self.condition.unlock()
    }

    private func drain() {
        while true {
            self.condition.lock()
            while self.head == self.queue.count && !self.stopped { self.condition.wait() }
            if self.head == self.queue.count && self.stopped {
                self.condition.unlock()
                return
            }
            let batch = Array(self.queue[self.head...])
            self.queue.removeAll(keepingCapacity: true)
            self.head = 0
            self.writing = true
            self.condition.unlock()
            var bytes: [UInt8] = []
            bytes.reserveCapacity(batch.reduce(0) { $0 + $1.count + 1 })
            for line in batch {
                bytes += line
                bytes.append(0x0A)
            }
            Self.writeAll(self.fd, bytes)
            self.condition.lock()
            self.writing = false
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }
}
