/// The candidates of one host bucket, indexed by path: a byte trie of prefix paths, each node
/// holding the ranks of the routes whose prefix ends there, plus the routes that a path alone
/// cannot rule out (regex paths, no path criterion). All rank lists are ascending (best first).
///
/// Flat arrays so the matcher walks it without reference counting per node.
struct PathMatcher: Sendable {
    struct Node: Sendable {
        var childStart: Int32
        var childCount: Int32
        var rankStart: Int32
        var rankCount: Int32
    }

    let nodes: [Node]
    /// Children of node `n`: `childBytes[n.childStart ..< n.childStart + n.childCount]`, sorted.
    let childBytes: [UInt8]
    let childNodes: [Int32]
    let ranks: [Int32]
    /// Ranks of regex-path and path-less routes, ascending.
    let always: [Int32]

    /// Appends to `lists` every non-empty rank list that may contain a route matching `path`:
    /// the nodes of prefixes of `path`, then the `always` list.
    func collect(_ path: UnsafeBufferPointer<UInt8>, into lists: inout [ArraySlice<Int32>]) {
        if !self.always.isEmpty { lists.append(self.always[...]) }
        guard self.nodes.count > 1 else { return }
        var node = 0
        self.appendRanks(of: node, into: &lists)
        for byte in path {
            guard let next = self.child(of: node, byte) else { return }
            node = next
            self.appendRanks(of: node, into: &lists)
        }
    }

    @inline(__always)
    private func appendRanks(of node: Int, into lists: inout [ArraySlice<Int32>]) {
        let n = self.nodes[node]
        if n.rankCount > 0 {
            lists.append(self.ranks[Int(n.rankStart)..<Int(n.rankStart + n.rankCount)])
        }
    }

    @inline(__always)
    private func child(of node: Int, _ byte: UInt8) -> Int? {
        let n = self.nodes[node]
        var low = Int(n.childStart)
        var high = low + Int(n.childCount)
        while low < high {
            let mid = (low + high) / 2
            let b = self.childBytes[mid]
            if b == byte { return Int(self.childNodes[mid]) }
            if b < byte { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// Mutable form used while building; `freeze()` flattens it.
    struct Builder {
        private var children: [[UInt8: Int]] = [[:]]
        private var nodeRanks: [[Int32]] = [[]]
        private var always: [Int32] = []

        /// Ranks must be added in ascending order; repeats of the last rank are dropped.
        mutating func add(prefix: [UInt8], rank: Int32) {
            var node = 0
            for byte in prefix {
                if let next = self.children[node][byte] {
                    node = next
                } else {
                    let next = self.children.count
                    self.children.append([:])
                    self.nodeRanks.append([])
                    self.children[node][byte] = next
                    node = next
                }
            }
            if self.nodeRanks[node].last != rank { self.nodeRanks[node].append(rank) }
        }

        mutating func addAlways(rank: Int32) {
            if self.always.last != rank { self.always.append(rank) }
        }

        func freeze() -> PathMatcher {
            var nodes: [Node] = []
            var childBytes: [UInt8] = []
            var childNodes: [Int32] = []
            var ranks: [Int32] = []
            nodes.reserveCapacity(self.children.count)
            for index in self.children.indices {
                let sorted = self.children[index].sorted { $0.key < $1.key }
                let node = Node(
                    childStart: Int32(childBytes.count),
                    childCount: Int32(sorted.count),
                    rankStart: Int32(ranks.count),
                    rankCount: Int32(self.nodeRanks[index].count)
                )
                childBytes.append(contentsOf: sorted.map(\.key))
                childNodes.append(contentsOf: sorted.map { Int32($0.value) })
                ranks.append(contentsOf: self.nodeRanks[index])
                nodes.append(node)
            }
            return PathMatcher(
                nodes: nodes,
                childBytes: childBytes,
                childNodes: childNodes,
                ranks: ranks,
                always: self.always
            )
        }
    }
}
