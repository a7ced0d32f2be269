#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// systemd socket activation (sd_listen_fds(3)) without libsystemd: the listening socket arrives
/// as descriptor 3 with `$LISTEN_PID` (ours) and `$LISTEN_FDS` set, and clients can connect
/// before lavitd has even started.
public enum SocketActivation {
    /// The first descriptor systemd passes.
    public static let firstDescriptor: Int32 = 3

    /// The descriptor to serve, or nil when lavitd was not socket-activated (then it binds its
    /// own socket). With several descriptors, the one named "lavitd" in `$LISTEN_FDNAMES` (the
    /// socket unit's `FileDescriptorName=`), else the first. Anything passed that is not a
    /// socket is an error naming it.
    public static func listeningDescriptor(
        environment: [String: String], pid: Int32 = getpid(), first: Int32 = firstDescriptor
    ) throws(DaemonError) -> Int32? {
        guard let pidText = environment["LISTEN_PID"], let listenPID = Int32(pidText), listenPID == pid,
              let countText = environment["LISTEN_FDS"]
        else { return nil }
        guard let count = Int32(countText), count >= 1, count <= 64 else {
            throw DaemonError("socket activation: LISTEN_FDS=\(countText) is not a descriptor count")
        }
        var chosen = first
        if let names = environment["LISTEN_FDNAMES"]?.split(separator: ":", omittingEmptySubsequences: false),
           let index = names.firstIndex(of: "lavitd"), index < Int(count) {
            chosen = first + Int32(index)
        }
        var info = stat()
        guard fstat(chosen, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
            throw DaemonError("socket activation: descriptor \(chosen) is not a socket")
        }
        return chosen
    }

    /// Clears the variables so nothing lavitd starts believes they are meant for it.
    public static func clearEnvironment() {
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
    }
}
