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
        let environment = SystemdNotifier.processEnvironment()
        let daemon: Daemon
        do throws(DaemonError) {
            let activated = try SocketActivation.listeningDescriptor(environment: environment)
            SocketActivation.clearEnvironment()
            daemon = try Daemon(
                config: config, log: log, listeningDescriptor: activated,
                notifier: SystemdNotifier(environment: environment))
        } catch {
            log.error("\(error)")
            return 1
        }
        do throws(Errno) {
            try Signals.handle([SIGTERM, SIGINT, SIGHUP]) { signal in
                guard signal == SIGHUP else {
                    log.notice("\(signal == SIGTERM ? "SIGTERM" : "SIGINT"): stopping")
                    daemon.stop()
                    return
                }
                // The same command line over the configuration file as it is now.
                do throws(DaemonConfigError) {
                    guard case let .run(reread) = try DaemonCommand.parse(arguments) else { return }
                    log.notice("SIGHUP: reloading the configuration and the model")
                    daemon.reload(reread)
                } catch {
                    log.error("reload failed, the old configuration and model keep serving: \(error)")
                }
            }
        } catch {
            log.error("cannot start the signal thread: \(error)")
            return 1
        }
        return daemon.run()
    }
}
