import ArgumentParser
import TurnpikeEngine
import TurnpikeModel
import TurnpikeServer
import TurnpikeYAML

/// `turnpike validate FILE...`: the config checker CI pipelines call.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check declarative config files; print every error as FILE:LINE:COL: path: message.",
        discussion: "Exit status: 0 all files valid, 1 some file invalid, 2 usage error or unreadable file."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, github
    }

    @Argument(help: "Config files (kong.yaml, kong.yml or kong.json).")
    var files: [String]

    @Option(help: "Output format: text (errors on stderr), json (array on stdout), github (workflow annotations).")
    var format: Format = .text

    @Option(help: "Largest config file accepted, in bytes.")
    var maxConfigSize: Int = YAMLLimits().maxBytes

    @Flag(name: .shortAndLong, help: "Print nothing for valid files.")
    var quiet = false

    @Flag(help: "Print the time spent parsing, decoding and building each file (stderr).")
    var timings = false

    /// At most this many errors are printed per file; the rest are counted.
    static let errorCap = [ConfigError].printedCap

    func run() throws {
        let loader = ConfigLoader(limits: YAMLLimits(maxBytes: self.maxConfigSize))
        var worst: Int32 = 0
        var jsonItems: [Rendered] = []
        for file in self.files {
            let outcome: ConfigLoader.Outcome
            switch ConfigLoader.readFile(file, maxBytes: self.maxConfigSize) {
            case .failure(let message):
                outcome = .unreadable(message)
            case .success(let bytes):
                var t = ConfigLoader.Timings()
                outcome = loader.compile(bytes, file: file, timings: &t)
                if self.timings {
                    FileHandleStandardError.write("\(file): parse \(t.parse), decode \(t.decode), build \(t.build)\n")
                }
            }
            switch outcome {
            case .valid(let snapshot):
                ExitWithoutTeardown.keep(snapshot)
                for warning in snapshot.warnings {
                    FileHandleStandardError.write("\(warning.location): warning: \(warning.path): \(warning.message)\n")
                }
                if !self.quiet && self.format == .text {
                    let m = snapshot.model
                    StandardOutput.write(
                        "\(file): ok (\(m.services.count) services, \(m.routes.count) routes, "
                            + "\(m.consumers.count) consumers, \(m.plugins.count) plugins, \(m.upstreams.count) upstreams)\n"
                    )
                }
            case .unreadable(let message):
                worst = 2
                FileHandleStandardError.write("turnpike: \(message)\n")
            case .invalid(let errors):
                worst = max(worst, 1)
                let shown = errors.prefix(Self.errorCap)
                switch self.format {
                case .text:
                    FileHandleStandardError.write(errors.printed(file: file))
                case .json:
                    jsonItems.append(contentsOf: shown.map(Self.json))
                case .github:
                    var text = ""
                    for e in shown { text += Self.github(e) + "\n" }
                    if errors.count > shown.count {
                        text +=
                            "::error file=\(Self.property(file))::\(errors.count - shown.count) more errors not shown\n"
                    }
                    StandardOutput.write(text)
                }
            }
        }
        if self.format == .json { StandardOutput.write(Rendered.array(jsonItems).json + "\n") }
        if worst != 0 { throw ExitCode(worst) }
    }

    static func json(_ e: ConfigError) -> Rendered {
        .object([
            ("file", .string(e.location.file)),
            ("line", .integer(e.location.line)),
            ("column", .integer(e.location.column)),
            ("path", .string(e.path)),
            ("message", .string(e.message)),
        ])
    }

    /// A GitHub Actions workflow command (`::error file=…,line=…,col=…::message`).
    static func github(_ e: ConfigError) -> String {
        let message = e.path.isEmpty ? e.message : "\(e.path): \(e.message)"
        return
            "::error file=\(property(e.location.file)),line=\(e.location.line),col=\(e.location.column)::\(data(message))"
    }

    static func data(_ s: String) -> String {
        s.replacingAll("%", "%25").replacingAll("\r", "%0D").replacingAll("\n", "%0A")
    }

    static func property(_ s: String) -> String {
        data(s).replacingAll(":", "%3A").replacingAll(",", "%2C")
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
