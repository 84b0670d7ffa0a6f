import Foundation

/// CPU and memory of processes, read from `/proc`: CPU as a percentage of one core since the
/// previous sample, RSS in bytes.
public final class ProcessSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var previous: [Int32: (ticks: Int, at: Double)] = [:]
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    public init() {}

    /// The summed CPU % (of one core) and RSS of `pids` now; nil when none can be read.
    public func sample(_ pids: [Int32]) -> (cpuPercent: Double, rssBytes: Int)? {
        let now = Date().timeIntervalSince1970
        var cpu = 0.0
        var rss = 0
        var read = false
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            else { continue }
            // Fields after the command name (which may contain spaces) start after the last ')'.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            let ticks = user + system
            lock.withLock {
                if let last = previous[pid], now > last.at {
                    cpu += Double(ticks - last.ticks) / ticksPerSecond / (now - last.at) * 100
                }
                previous[pid] = (ticks, now)
            }
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
            {
                rss += kilobytes * 1024
            }
            read = true
        }
        return read ? (cpu, rss) : nil
    }

    /// The process's name (`/proc/<pid>/comm`), nil if it is gone.
    public static func name(of pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Process IDs whose command line contains `text` (for watching an embedded PostgreSQL).
    public static func pids(matching text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), commandLine(of: pid)?.contains(text) == true else { return nil }
            return pid
        }
    }

    /// The process's command line, arguments joined by spaces (PostgreSQL sets its processes'
    /// titles there: `postgres: autovacuum worker`, `postgres: console console [local] idle`).
    public static func commandLine(of pid: Int32) -> String? {
        FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { data in
            String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        }
    }
}
