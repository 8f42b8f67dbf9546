public import TurnpikeModel

/// Bounds that keep hostile config files from exhausting memory or time.
public struct YAMLLimits: Sendable {
    /// Largest accepted input in bytes; larger files fail at 1:1 before parsing.
    public var maxBytes: Int
    /// Deepest accepted nesting of sequences and mappings (aliases count with their full depth).
    public var maxDepth: Int
    /// Total nodes that alias references may contribute: each alias adds the node count of its anchored subtree,
    /// also when used as a merge key value.
    public var maxAliasNodes: Int

    /// Limits with Turnpike's defaults: 64 MiB, 64 levels, one million alias-contributed nodes.
    public init(maxBytes: Int = 64 << 20, maxDepth: Int = 64, maxAliasNodes: Int = 1_000_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxAliasNodes = maxAliasNodes
    }
}

/// Reads YAML (and JSON, which libyaml accepts as YAML) into a `ConfigNode` tree typed the way Kong's lyaml
/// loader types it.
public enum YAMLFrontEnd {
    /// Parses one YAML (or JSON) document. `file` goes into every SourceLocation.
    ///
    /// Empty input, or a stream without a document (only comments), gives a `.null` node at 1:1. Every problem
    /// found before the first fatal one (a syntax error, a limit, a second document) is thrown together, in file
    /// order. Aliased nodes keep the locations of their anchored definition.
    public static func parse(
        _ bytes: [UInt8],
        file: String,
        limits: YAMLLimits = YAMLLimits()
    ) throws(ConfigErrors) -> ConfigNode {
        let start = SourceLocation.start(of: file)
        if bytes.count > limits.maxBytes {
            throw ConfigErrors([
                ConfigError(
                    "file is larger than \(limits.maxBytes) bytes (raise it with --max-config-size)",
                    at: start
                )
            ])
        }
        if bytes.isEmpty { return ConfigNode(.null, at: start) }
        let (root, errors) = bytes.withUnsafeBufferPointer { buffer -> (ConfigNode?, [ConfigError]) in
            var builder = NodeBuilder(file: file, limits: limits)
            do throws(YAMLSyntaxError) {
                var parser = try EventParser(input: buffer)
                let root = builder.build(from: &parser)
                return (root, builder.errors)
            } catch {
                return (nil, [ConfigError(error.message, at: start)])
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors.sorted()) }
        return root ?? ConfigNode(.null, at: start)
    }
}
