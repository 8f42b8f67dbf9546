import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `turnpike` command: a thin shell over library calls. Exit codes: 0 success, 1 invalid
/// config, 2 usage error or unreadable file.
@main
struct Turnpike: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "turnpike",
        abstract: "A DB-less API gateway that runs Kong's declarative kong.yaml.",
        version: Self.version,
        subcommands: [StartCommand.self, ValidateCommand.self, RenderCommand.self, MockCommand.self]
    )

    static func main() async {
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Self.exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)
            }
            if let exit = error as? ExitCode {
                Glibc.exit(exit.rawValue)
            }
            // Usage errors: ArgumentParser's message, and the exit code our contract promises (2).
            let message = Self.fullMessage(for: error)
            if !message.isEmpty { FileHandleStandardError.write(message + "\n") }
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// A one-shot command ends the process right after printing: freeing a config of 100k consumers
/// entry by entry would cost a third of the run for nothing (the kernel reclaims it at exit).
/// Snapshots handed here stay alive until then.
enum ExitWithoutTeardown {
    static func keep(_ object: AnyObject) {
        _ = Unmanaged.passRetained(object)
    }
}

/// Plain writes to the standard streams, without Foundation.
enum FileHandleStandardError {
    static func write(_ text: String) { writeAll(text, to: 2) }
}

enum StandardOutput {
    static func write(_ text: String) { writeAll(text, to: 1) }
}

/// Writes every byte of `text` to `fd`, retrying short writes; gives up on an error.
func writeAll(_ text: String, to fd: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n <= 0 {
            if n < 0 && errno == EINTR { continue }
            return
        }
        offset += n
    }
}
