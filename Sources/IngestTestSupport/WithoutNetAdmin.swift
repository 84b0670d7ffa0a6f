import Foundation

/// How the process tests start a console without `CAP_NET_ADMIN`, as a container that drops
/// every capability runs it (a socket option that needs it once failed every connection there).
///
/// As root, `setpriv --bounding-set -net_admin` drops it (that needs `CAP_SETPCAP`, which only
/// root has). As an ordinary user the console holds no capability to begin with, so it runs as
/// it is; the first such start says so on standard error, once.
public enum WithoutNetAdmin {
    /// The executable and arguments that run `binary arguments` without `CAP_NET_ADMIN`.
    public static func command(_ binary: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        if geteuid() == 0 { return ("/usr/bin/setpriv", ["--bounding-set", "-net_admin", "--", binary] + arguments) }
        _ = announced
        return (binary, arguments)
    }

    private static let announced: Void = {
        FileHandle.standardError.write(Data(
            "not root: console processes run as this user, without CAP_NET_ADMIN, rather than under setpriv --bounding-set -net_admin\n".utf8))
    }()
}
