import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs config loading on its own thread at a lower scheduling priority (nice +10) than the event
/// loops, and frees replaced snapshots there too.
enum BackgroundWork {
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                lowerPriority()
                continuation.resume(returning: work())
            }
            thread.name = "turnpike-reload"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Drops `object` on a low-priority thread (freeing a 100k-consumer snapshot takes a while).
    static func release(_ object: (any AnyObject & Sendable)?) {
        guard let object else { return }
        let thread = Thread {
            lowerPriority()
            withExtendedLifetime(object) {}
        }
        thread.name = "turnpike-release"
        thread.start()
    }

    private static func lowerPriority() {
        #if canImport(Glibc)
        // On Linux the nice value is per thread, and `who = 0` names the calling thread.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }
}
