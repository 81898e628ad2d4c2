import Foundation

/// Runs a command and returns its exit status, standard output and standard error (kept in a
/// temporary file, so a chatty stderr cannot block the child while stdout is read).
public func shell(_ args: [String], cwd: URL? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe()
    p.standardOutput = out
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("ps-shell-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let errFile = try FileHandle(forWritingTo: errURL)
    p.standardError = errFile
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try? errFile.close()
    let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), err)
}

public func have(_ tool: String, _ check: [String]) -> Bool {
    (try? shell([tool] + check).status) == 0
}
