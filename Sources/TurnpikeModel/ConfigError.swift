/// One problem found in a config file: where it is, which field, what is wrong.
///
/// Printed as `FILE:LINE:COL: path: message` (the path is left out when empty). Messages use
/// Kong's wording where Kong has one: lower-case, no final period, never a secret.
public struct ConfigError: Error, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var location: SourceLocation
    /// Dotted path of the field, e.g. `services[0].routes[1].paths[0]`; empty for file-level errors.
    public var path: String
    public var message: String

    public init(_ message: String, at location: SourceLocation, path: String = "") {
        self.location = location
        self.path = path
        self.message = message
    }

    public var description: String {
        if self.path.isEmpty { return "\(self.location): \(self.message)" }
        return "\(self.location): \(self.path): \(self.message)"
    }

    public static func < (lhs: ConfigError, rhs: ConfigError) -> Bool {
        if lhs.location != rhs.location { return lhs.location < rhs.location }
        if lhs.path != rhs.path { return lhs.path < rhs.path }
        return lhs.message < rhs.message
    }
}

/// Every problem found in one pass, sorted by position. Decoders throw this, never just the first error.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public private(set) var errors: [ConfigError]

    public init(_ errors: [ConfigError] = []) {
        self.errors = errors
    }

    public var isEmpty: Bool { self.errors.isEmpty }
    public var count: Int { self.errors.count }

    public mutating func append(_ error: ConfigError) {
        self.errors.append(error)
    }

    public mutating func append(_ message: String, at location: SourceLocation, path: String = "") {
        self.errors.append(ConfigError(message, at: location, path: path))
    }

    public mutating func append(contentsOf other: ConfigErrors) {
        self.errors.append(contentsOf: other.errors)
    }

    /// Sorted by position and without exact repeats (an alias expanded twice reports once).
    public var sorted: [ConfigError] {
        var seen = Set<ConfigError>()
        return self.errors.sorted().filter { seen.insert($0).inserted }
    }

    public var description: String {
        self.sorted.map(\.description).joined(separator: "\n")
    }
}

extension Array where Element == ConfigError {
    /// At most this many errors are printed for one file by the command line (`validate`,
    /// `render`, `start`); the rest are counted, so the output never grows with a bad file.
    public static let printedCap = 1000

    /// The lines printed for `file`'s errors: one per error up to `cap`, then `… and N more errors`.
    public func printed(file: String, cap: Int = Self.printedCap) -> String {
        var text = ""
        for e in self.prefix(cap) { text += e.description + "\n" }
        if self.count > cap { text += "\(file): … and \(self.count - cap) more errors\n" }
        return text
    }
}
