#if canImport(Glibc)
import Glibc
#endif
import LavitDaemon

exit(lavitdMain(Array(CommandLine.arguments.dropFirst())))
