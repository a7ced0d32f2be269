#if canImport(Glibc)
import Glibc
#endif
import LavitSystem

/// lavitd's whole life, for the thin executable: parse, check or run, exit status. Errors are
/// one log line each.
public func lavitdMain(_ arguments: [String]) -> Int32 {
    let log = Log.standardError()
    let command: DaemonCommand
    do throws(DaemonConfigError) {
        command = try DaemonCommand.parse(arguments)
    } catch {
        log.error("\(error)")
        return 2
    }
    switch command {
    case .help:
        print(DaemonCommand.usage)
        return 0
    case let .check(config):
        do throws(DaemonError) {
            let summary = try Daemon.check(config)
            print("lavitd: configuration and model are usable: \(summary)")
            return 0
        } catch {
            log.error("\(error)")
            return 1
        }
    case let .run(config):
        Signals.block([SIGTERM, SIGINT, SIGHUP])
        let daemon: Daemon
        do throws(DaemonError) {
            daemon = try Daemon(config: config, log: log)
        } catch {
            log.error("\(error)")
            return 1
        }
        do throws(Errno) {
            try Signals.handle([SIGTERM, SIGINT, SIGHUP]) { signal in
                if signal == SIGHUP {
                    log.notice("SIGHUP: reloading is not supported yet; restart lavitd to load a new model")
                    return
                }
                log.notice("\(signal == SIGTERM ? "SIGTERM" : "SIGINT"): stopping")
                daemon.stop()
            }
        } catch {
            log.error("cannot start the signal thread: \(error)")
            return 1
        }
        return daemon.run()
    }
}
