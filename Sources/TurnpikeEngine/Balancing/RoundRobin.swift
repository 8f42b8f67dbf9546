public import TurnpikeModel

/// A weighted round-robin slot list for one upstream, built once per snapshot (Kong: weights
/// divided by their gcd, one slot per unit). The cursor that walks it lives outside the snapshot.
public struct RoundRobin: Sendable {
    public struct Peer: Sendable, Equatable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// Peers repeated by weight, interleaved so heavy peers do not come in runs.
    public let slots: [Peer]

    public init(targets: [Target]) {
        let weighted = targets.filter { $0.weight > 0 }.compactMap { t -> (Peer, Int)? in
            guard let hp = Validators.splitHostPort(t.target), let port = hp.port else { return nil }
            return (Peer(host: hp.host, port: port), t.weight)
        }
        let divisor = weighted.map(\.1).reduce(0) { Self.gcd($0, $1) }
        guard divisor > 0 else {
            self.slots = []
            return
        }
        var counts = weighted.map { $0.1 / divisor }
        var slots: [Peer] = []
        slots.reserveCapacity(counts.reduce(0, +))
        // Deal one slot per peer per round while it has slots left.
        while counts.contains(where: { $0 > 0 }) {
            for i in counts.indices where counts[i] > 0 {
                slots.append(weighted[i].0)
                counts[i] -= 1
            }
        }
        self.slots = slots
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
