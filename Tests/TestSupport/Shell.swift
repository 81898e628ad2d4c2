import Foundation

/// Runs a command and returns its exit status and standard output.
public func shell(_ args: [String], cwd: URL? = nil) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

public func have(_ tool: String, _ check: [String]) -> Bool {
    (try? shell([tool] + check).status) == 0
}
