import TurnpikeModel

/// Turns libyaml events into one `ConfigNode` tree, collecting every error it can before the first fatal one.
///
/// Iterative: open collections live on `stack`, so nesting depth never touches the call stack.
///
/// Aliases reuse the anchored node as it is, locations included: an error found later in an aliased value
/// points at the anchored definition, which is the text the user has to edit. Arrays are copy-on-write, so
/// an alias costs no memory; what grows is the work of later consumers, which `maxAliasNodes` bounds using
/// the node count stored with each anchor (an expanded tree is never walked).
struct NodeBuilder {
    private let fileID: UInt32
    private let limits: YAMLLimits
    private(set) var errors: [ConfigError] = []

    /// A finished node with the facts the limits need.
    private struct Built {
        var node: ConfigNode
        /// Nodes in the subtree, keys included (an upper bound when merge keys dropped entries).
        var count: Int
        /// Collection levels in the subtree: 0 for a scalar, 1 for a flat collection.
        var height: Int
        /// Where an alias referenced the node; key errors point there rather than at the anchored definition.
        var aliasLocation: SourceLocation? = nil
    }

    private enum KeyState {
        case awaitingKey
        case awaitingValue(key: ConfigNode, count: Int)
        case awaitingMergeValue(location: SourceLocation)
        /// The key was rejected (reported); its value is built for its own errors, then dropped.
        case skippingValue
    }

    private struct Merge {
        var position: Int
        var entries: [ConfigNode.Entry]
    }

    private struct Frame {
        var isMapping: Bool
        var location: SourceLocation
        var anchor: String?
        var items: [ConfigNode] = []
        var entries: [ConfigNode.Entry] = []
        /// Names of explicit keys once the mapping outgrows `linearLimit`; below it, `entries` is scanned
        /// (no extra allocation for the many small mappings of a large config).
        var nameSet: Set<String>?
        var keyState = KeyState.awaitingKey
        var merges: [Merge] = []
        var count = 1
        var height = 1

        static let linearLimit = 8

        /// Records an explicit key name; false when the mapping already has it.
        /// Call before appending the entry for `name`.
        mutating func insertName(_ name: String) -> Bool {
            if self.nameSet != nil {
                return self.nameSet?.insert(name).inserted ?? false
            }
            if self.scanEntries(for: name) { return false }
            if self.entries.count + 1 > Self.linearLimit {
                var set = Set<String>(minimumCapacity: 2 * Self.linearLimit)
                for entry in self.entries { set.insert(entry.name) }
                set.insert(name)
                self.nameSet = set
            }
            return true
        }

        func hasName(_ name: String) -> Bool {
            self.nameSet?.contains(name) ?? self.scanEntries(for: name)
        }

        private func scanEntries(for name: String) -> Bool {
            for entry in self.entries where entry.name == name { return true }
            return false
        }
    }

    private var stack: [Frame] = []
    private var anchors: [String: Built] = [:]
    private var aliasNodes = 0
    private var root: Built?
    private var sawDocument = false

    init(file: String, limits: YAMLLimits) {
        self.fileID = SourceLocation.fileID(for: file)
        self.limits = limits
    }

    /// Reads events until the stream ends or a fatal error; returns the document root (nil when the stream
    /// holds no document). Problems are in `errors`.
    mutating func build(from parser: inout EventParser) -> ConfigNode? {
        do {
            while try self.handle(parser.next()) {}
        } catch {
            self.report(error.message, at: error.mark)
        }
        return self.root?.node
    }

    /// Handles one event; false when reading must stop.
    private mutating func handle(_ event: YAMLEvent) -> Bool {
        switch event {
        case .streamStart, .documentEnd:
            return true
        case .streamEnd:
            return false
        case .documentStart(let mark):
            if self.sawDocument {
                self.report("a second YAML document is not supported (turnpike reads exactly one)", at: mark)
                return false
            }
            self.sawDocument = true
            return true
        case .scalar(let bytes, let isPlain, let properties):
            let location = self.location(properties.mark)
            let value: ConfigNode.Value
            switch ScalarResolver.resolve(bytes, isPlain: isPlain, tag: properties.tag) {
            case .value(let resolved):
                value = resolved
            case .invalid(let message):
                self.errors.append(ConfigError(message, at: location))
                value = .null
            }
            let built = Built(node: ConfigNode(value, at: location), count: 1, height: 0)
            if let anchor = properties.anchor { self.anchors[anchor] = built }
            self.deliver(built)
            return true
        case .alias(let anchor, let mark):
            return self.handleAlias(anchor, at: mark)
        case .sequenceStart(let properties):
            return self.open(isMapping: false, properties)
        case .mappingStart(let properties):
            return self.open(isMapping: true, properties)
        case .sequenceEnd, .mappingEnd:
            self.close()
            return true
        }
    }

    private mutating func handleAlias(_ anchor: String, at mark: YAMLMark) -> Bool {
        guard let built = self.anchors[anchor] else {
            let recursive = self.stack.contains { $0.anchor == anchor }
            let message =
                recursive
                ? "alias '*\(anchor)' refers to a node that contains it"
                : "unknown anchor '\(anchor)' (an anchor must be defined before its alias)"
            self.report(message, at: mark)
            self.deliver(Built(node: ConfigNode(.null, at: self.location(mark)), count: 1, height: 0))
            return true
        }
        if self.stack.count + built.height > self.limits.maxDepth {
            self.report("nesting deeper than \(self.limits.maxDepth) levels", at: mark)
            return false
        }
        self.aliasNodes += built.count
        if self.aliasNodes > self.limits.maxAliasNodes {
            self.report("too many alias expansions (limit \(self.limits.maxAliasNodes) nodes)", at: mark)
            return false
        }
        var reference = built
        reference.aliasLocation = self.location(mark)
        self.deliver(reference)
        return true
    }

    private mutating func open(isMapping: Bool, _ properties: YAMLNodeProperties) -> Bool {
        if self.stack.count >= self.limits.maxDepth {
            self.report("nesting deeper than \(self.limits.maxDepth) levels", at: properties.mark)
            return false
        }
        let location = self.location(properties.mark)
        if let tag = properties.tag, tag != ScalarResolver.yamlTagPrefix + (isMapping ? "map" : "seq") {
            let display = ScalarResolver.displayTag(tag)
            let isScalarOrOtherKind = ["map", "seq", "str", "int", "float", "bool", "null"]
                .contains { ScalarResolver.yamlTagPrefix + $0 == tag }
            let message =
                isScalarOrOtherKind
                ? "YAML tag '\(display)' cannot be used on a \(isMapping ? "mapping" : "sequence")"
                : "unsupported YAML tag '\(display)'"
            self.errors.append(ConfigError(message, at: location))
        }
        var frame = Frame(isMapping: isMapping, location: location, anchor: properties.anchor)
        // Most mappings in a Kong file have a handful of keys: one allocation instead of several regrowths.
        if isMapping { frame.entries.reserveCapacity(4) }
        self.stack.append(frame)
        return true
    }

    private mutating func close() {
        guard let frame = self.stack.popLast() else { return }
        let value: ConfigNode.Value
        if frame.isMapping {
            value = .mapping(frame.merges.isEmpty ? frame.entries : Self.applyMerges(frame))
        } else {
            value = .sequence(frame.items)
        }
        let built = Built(node: ConfigNode(value, at: frame.location), count: frame.count, height: frame.height)
        if let anchor = frame.anchor { self.anchors[anchor] = built }
        self.deliver(built)
    }

    /// Explicit keys win over merged ones wherever they appear; among merges the earlier wins. Merged entries
    /// go where their `<<` was.
    private static func applyMerges(_ frame: Frame) -> [ConfigNode.Entry] {
        var taken = Set<String>()
        var result: [ConfigNode.Entry] = []
        result.reserveCapacity(frame.entries.count)
        var nextMerge = 0
        for position in 0...frame.entries.count {
            while nextMerge < frame.merges.count, frame.merges[nextMerge].position == position {
                for entry in frame.merges[nextMerge].entries {
                    let name = entry.name
                    if !frame.hasName(name), taken.insert(name).inserted { result.append(entry) }
                }
                nextMerge += 1
            }
            if position < frame.entries.count { result.append(frame.entries[position]) }
        }
        return result
    }

    /// Hands a finished node to its parent, or makes it the root.
    private mutating func deliver(_ built: Built) {
        guard !self.stack.isEmpty else {
            self.root = built
            return
        }
        let top = self.stack.count - 1
        if !self.stack[top].isMapping {
            self.stack[top].items.append(built.node)
            self.stack[top].count += built.count
            self.stack[top].height = max(self.stack[top].height, built.height + 1)
            return
        }
        switch self.stack[top].keyState {
        case .awaitingKey:
            self.stack[top].keyState = self.acceptKey(built, frame: top)
        case .awaitingValue(let key, let keyCount):
            self.stack[top].entries.append(ConfigNode.Entry(key: key, value: built.node))
            self.stack[top].count += keyCount + built.count
            self.stack[top].height = max(self.stack[top].height, built.height + 1)
            self.stack[top].keyState = .awaitingKey
        case .awaitingMergeValue(let location):
            self.acceptMerge(built, frame: top, keyLocation: location)
            self.stack[top].keyState = .awaitingKey
        case .skippingValue:
            self.stack[top].keyState = .awaitingKey
        }
    }

    private mutating func acceptKey(_ key: Built, frame: Int) -> KeyState {
        let site = key.aliasLocation ?? key.node.location
        guard let name = key.node.scalarText else {
            self.errors.append(ConfigError("mapping keys must be scalars", at: site))
            return .skippingValue
        }
        // lyaml treats any key whose value is the string `<<` as a merge key, quoted or not.
        if case .string = key.node.value, name == "<<" {
            return .awaitingMergeValue(location: site)
        }
        guard self.stack[frame].insertName(name) else {
            self.errors.append(ConfigError("duplicate key '\(Self.truncated(name))'", at: site))
            return .skippingValue
        }
        return .awaitingValue(key: key.node, count: key.count)
    }

    private mutating func acceptMerge(_ value: Built, frame: Int, keyLocation: SourceLocation) {
        guard let sources = Self.mergeSources(value.node) else {
            self.errors.append(
                ConfigError("merge key value must be a mapping or a sequence of mappings", at: keyLocation)
            )
            return
        }
        let position = self.stack[frame].entries.count
        for entries in sources {
            self.stack[frame].merges.append(Merge(position: position, entries: entries))
        }
        self.stack[frame].count += value.count
        self.stack[frame].height = max(self.stack[frame].height, value.height)
    }

    /// The mappings a `<<` value merges, in priority order; nil when the value has another shape.
    private static func mergeSources(_ node: ConfigNode) -> [[ConfigNode.Entry]]? {
        switch node.value {
        case .mapping(let entries):
            return [entries]
        case .sequence(let items):
            var sources: [[ConfigNode.Entry]] = []
            sources.reserveCapacity(items.count)
            for item in items {
                guard case .mapping(let entries) = item.value else { return nil }
                sources.append(entries)
            }
            return sources
        default:
            return nil
        }
    }

    private static func truncated(_ key: String) -> String {
        key.count > 64 ? String(key.prefix(64)) + "…" : key
    }

    private func location(_ mark: YAMLMark) -> SourceLocation {
        SourceLocation(fileID: self.fileID, line: mark.line, column: mark.column)
    }

    private mutating func report(_ message: String, at mark: YAMLMark) {
        self.errors.append(ConfigError(message, at: self.location(mark)))
    }
}
