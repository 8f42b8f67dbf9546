import ArgumentParser
import TurnpikeEngine
import TurnpikeModel
import TurnpikeServer
import TurnpikeYAML

/// `turnpike render FILE`: the normalized config the engine would run, secrets redacted.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the normalized config (defaults filled, ids assigned, secrets redacted).",
        discussion: "Exit status: 0 printed, 1 invalid config (errors on stderr), 2 usage error or unreadable file."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case yaml, json
    }

    @Argument(help: "Config file.")
    var file: String

    @Option(help: "Output format.")
    var format: Format = .yaml

    @Option(help: "Largest config file accepted, in bytes.")
    var maxConfigSize: Int = YAMLLimits().maxBytes

    func run() throws {
        let loader = ConfigLoader(limits: YAMLLimits(maxBytes: self.maxConfigSize))
        switch loader.load(path: self.file) {
        case .unreadable(let message):
            FileHandleStandardError.write("turnpike: \(message)\n")
            throw ExitCode(2)
        case .invalid(let errors):
            FileHandleStandardError.write(errors.printed(file: self.file))
            throw ExitCode(1)
        case .valid(let snapshot):
            let doc = snapshot.rendered()
            switch self.format {
            case .json: StandardOutput.write(doc.json + "\n")
            case .yaml: StandardOutput.write(YAMLEmitter.emit(doc))
            }
        }
    }
}
