public import Foundation

/// Finds and reads test fixtures that live next to the test sources.
public enum Fixtures {
    /// The `Fixtures` folder of the test target whose source file is `filePath`.
    public static func directory(near filePath: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(filePath)").deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// Files in `folder` with extension `ext`, sorted by name.
    public static func files(in folder: URL, withExtension ext: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { folder.appendingPathComponent($0) }
    }

    public static func text(_ url: URL) -> String? {
        try? String(contentsOf: url, encoding: .utf8)
    }

    /// True when the run should rewrite golden files instead of comparing (`UPDATE_GOLDEN=1`).
    public static var updating: Bool {
        ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1"
    }

    public static func write(_ text: String, to url: URL) throws {
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
}
