/// What `/proc/<pid>/stat` says of a process's CPU time and resident memory, for the
/// `process_cpu_seconds_total` and `process_resident_memory_bytes` every role exports.
public struct ProcessStat: Sendable, Hashable {
    /// User and system CPU time, in clock ticks (`utime` + `stime`).
    public var cpuTicks: Int
    /// Resident pages (`rss`).
    public var residentPages: Int
    /// Threads (`num_threads`).
    public var threads: Int

    /// Parses the one line of `/proc/<pid>/stat`. The command name (field 2) is in parentheses
    /// and may hold spaces and parentheses itself, so the fields are counted from its last `)`.
    public init?(statLine: String) {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        // Fields 3 onward: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
        // majflt, cmajflt, utime (14), stime (15), cutime, cstime, priority, nice,
        // num_threads (20), itrealvalue, starttime, vsize, rss (24).
        let fields = statLine[statLine.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> Int? { fields.count > number - 3 ? Int(fields[number - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let threads = field(20), let rss = field(24) else { return nil }
        cpuTicks = utime + stime
        residentPages = rss
        self.threads = threads
    }

    /// The Prometheus text exposition of these figures, with `ticksPerSecond` (`_SC_CLK_TCK`)
    /// and `pageSize` bytes.
    public func exposition(ticksPerSecond: Int, pageSize: Int, openFiles: Int?) -> String {
        var text = """
            # HELP process_cpu_seconds_total User and system CPU time of the process, in seconds.
            # TYPE process_cpu_seconds_total counter
            process_cpu_seconds_total \(Double(cpuTicks) / Double(max(ticksPerSecond, 1)))
            # HELP process_resident_memory_bytes Resident memory of the process, in bytes.
            # TYPE process_resident_memory_bytes gauge
            process_resident_memory_bytes \(residentPages * pageSize)
            # HELP process_threads Threads of the process.
            # TYPE process_threads gauge
            process_threads \(threads)

            """
        if let openFiles {
            text += """
                # HELP process_open_fds Open file descriptors of the process.
                # TYPE process_open_fds gauge
                process_open_fds \(openFiles)

                """
        }
        return text
    }
}
