import TurnpikePlugins

/// The version printed by `--version`, `GET /` and in `Server`/`Via` tokens.
public enum TurnpikeVersion {
    public static let string = "0.1.0"
    public static let token = "turnpike/\(string)"

    /// The plugins this build runs, by name, with their priorities (`GET /`).
    static var plugins: [(String, Int)] {
        PluginRegistry.builtIn.entries.map { ($0.name, $0.priority) }.sorted { $0.0 < $1.0 }
    }
}
