import Synchronization

/// A 1-based position in a config file, as printed in diagnostics (`FILE:LINE:COL`).
///
/// Twelve bytes and no reference: every config node carries one, so copying nodes must not touch
/// reference counts. The file name lives in a process-wide table, registered once per parse.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let fileID: UInt32
    private let storedLine: UInt32
    private let storedColumn: UInt32

    public init(fileID: UInt32, line: Int, column: Int) {
        self.fileID = fileID
        self.storedLine = UInt32(clamping: line)
        self.storedColumn = UInt32(clamping: column)
    }

    /// Registers `file` (once per distinct name) and makes a location in it.
    public init(file: String, line: Int, column: Int) {
        self.init(fileID: Self.fileID(for: file), line: line, column: column)
    }

    public var line: Int { Int(self.storedLine) }
    public var column: Int { Int(self.storedColumn) }
    public var file: String { Self.fileName(self.fileID) }

    /// The place used for problems that concern a whole file (empty file, unreadable bytes).
    public static func start(of file: String) -> SourceLocation {
        SourceLocation(file: file, line: 1, column: 1)
    }

    public var description: String { "\(self.file):\(self.line):\(self.column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        if lhs.fileID != rhs.fileID { return lhs.file < rhs.file }
        if lhs.storedLine != rhs.storedLine { return lhs.storedLine < rhs.storedLine }
        return lhs.storedColumn < rhs.storedColumn
    }

    // MARK: - File table

    private struct FileTable {
        var names: [String] = []
        var ids: [String: UInt32] = [:]
    }

    /// Grows by one entry per distinct file name the process ever parses (a handful in practice).
    private static let table = Mutex(FileTable())

    /// The id of `name`, registering it on first use. Takes a lock: call once per parse.
    public static func fileID(for name: String) -> UInt32 {
        table.withLock { t in
            if let id = t.ids[name] { return id }
            let id = UInt32(t.names.count)
            t.names.append(name)
            t.ids[name] = id
            return id
        }
    }

    static func fileName(_ id: UInt32) -> String {
        table.withLock { t in Int(id) < t.names.count ? t.names[Int(id)] : "?" }
    }
}
