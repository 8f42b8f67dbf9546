import TurnpikeEngine
public import TurnpikeModel

#if canImport(Glibc)
import Glibc
#endif

/// What a reload changed, per kind of entity: added, removed and changed (same id, different
/// content), for the reload log line and the `POST /reload` answer.
public struct ConfigChanges: Sendable {
    public struct Counts: Sendable {
        public var added = 0
        public var removed = 0
        public var changed = 0
    }

    /// In a fixed order: services, routes, consumers, plugins, upstreams, targets, credentials.
    public private(set) var kinds: [(name: String, counts: Counts)] = []

    init(from old: Snapshot, to new: Snapshot) {
        func diff<T>(_ name: String, _ a: [T], _ b: [T], id: (T) -> EntityID, render: (T) -> Rendered) {
            self.diff(name, a, b, id: id) { render($0) == render($1) }
        }
        let (o, n) = (old.model, new.model)
        diff("services", o.services, n.services, id: { $0.id }, render: Snapshot.render)
        diff("routes", o.routes, n.routes, id: { $0.id }, render: Snapshot.render)
        // The large collections compare fields directly (a config may hold 100k of each).
        self.diff("consumers", o.consumers, n.consumers, id: { $0.id }) {
            $0.username == $1.username && $0.customID == $1.customID && $0.tags == $1.tags
        }
        diff("plugins", old.plugins, new.plugins, id: { $0.instance.id }, render: Snapshot.render)
        diff("upstreams", o.upstreams, n.upstreams, id: { $0.id }, render: Snapshot.render)
        diff("targets", o.targets, n.targets, id: { $0.id }, render: Snapshot.render)
        diff("ca_certificates", o.caCertificates, n.caCertificates, id: { $0.id }, render: Snapshot.render)
        // The rendering redacts the key: a new key alone counts as a change too.
        self.diff("certificates", o.certificates, n.certificates, id: { $0.id }) {
            $0.cert == $1.cert && $0.key == $1.key && $0.tags == $1.tags
                && $0.alternative?.cert == $1.alternative?.cert && $0.alternative?.key == $1.alternative?.key
        }
        diff("snis", o.snis, n.snis, id: { $0.id }, render: Snapshot.render)
        for list in n.credentials.lists {
            let (added, removed, changed) = list.changes(since: o.credentials.list(collection: list.kind.collection))
            self.kinds.append((list.kind.collection, Counts(added: added, removed: removed, changed: changed)))
        }
    }

    private mutating func diff<T>(_ name: String, _ a: [T], _ b: [T], id: (T) -> EntityID, same: (T, T) -> Bool) {
        var before: [EntityID: Int] = [:]
        before.reserveCapacity(a.count)
        for i in a.indices { before[id(a[i])] = i }
        var counts = Counts()
        var seen = 0
        for j in b.indices {
            if let i = before[id(b[j])] {
                seen += 1
                if !same(a[i], b[j]) { counts.changed += 1 }
            } else {
                counts.added += 1
            }
        }
        counts.removed = a.count - seen
        self.kinds.append((name, counts))
    }

    public var rendered: Rendered {
        .object(
            self.kinds.map { kind in
                (
                    kind.name,
                    .object([
                        ("added", .integer(kind.counts.added)), ("removed", .integer(kind.counts.removed)),
                        ("changed", .integer(kind.counts.changed)),
                    ])
                )
            }
        )
    }

    /// `services +1 -0 ~2, routes ...` for the log (kinds without changes left out).
    public var summary: String {
        let parts = self.kinds.filter { $0.counts.added + $0.counts.removed + $0.counts.changed > 0 }.map {
            "\($0.name) +\($0.counts.added) -\($0.counts.removed) ~\($0.counts.changed)"
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}

enum UnixTime {
    static func now() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int(t.tv_sec)
    }

    /// Wall-clock milliseconds.
    static func nowMilliseconds() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
