import TurnpikeModel
import TurnpikeServer

/// Loads a config from text for the config tests: `_format_version: "3.0"` then `yaml`, as
/// `k.yaml`.
enum ConfigChecking {
    struct NotLoaded: Error {}

    static func compile(_ yaml: String) -> ConfigLoader.Outcome {
        ConfigLoader().compile(Array(("_format_version: \"3.0\"\n" + yaml).utf8), file: "k.yaml")
    }

    /// The errors as `validate` prints them; empty when the config loads.
    static func errors(_ yaml: String) -> [String] {
        guard case .invalid(let errors) = Self.compile(yaml) else { return [] }
        return errors.map(\.description)
    }

    /// The errors of one global plugin `name` with `config` (a flow mapping) at line 4.
    static func pluginErrors(_ name: String, _ config: String) -> [String] {
        Self.errors("plugins:\n  - name: \(name)\n    config: \(config)\n")
    }
}
