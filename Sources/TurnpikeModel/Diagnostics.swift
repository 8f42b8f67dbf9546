/// Collects config errors while a decoder walks a tree, so one pass reports all of them.
///
/// Not `Sendable`: one decode owns it, on one thread.
public final class Diagnostics {
    public private(set) var errors = ConfigErrors()

    public init() {}

    public var isEmpty: Bool { self.errors.isEmpty }

    public func add(_ message: String, at location: SourceLocation, path: String) {
        self.errors.append(message, at: location, path: path)
    }

    public func add(_ message: String, node: ConfigNode, path: String) {
        self.errors.append(message, at: node.location, path: path)
    }

    public func add(contentsOf other: ConfigErrors) {
        self.errors.append(contentsOf: other)
    }
}

/// Builds field paths such as `services[0].routes[1].paths[0]`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public var text: String

    public init(_ text: String = "") {
        self.text = text
    }

    public func appending(_ key: String) -> FieldPath {
        FieldPath(self.text.isEmpty ? key : self.text + "." + key)
    }

    public func index(_ i: Int) -> FieldPath {
        FieldPath(self.text + "[\(i)]")
    }

    public var description: String { self.text }
}
