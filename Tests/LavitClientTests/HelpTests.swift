import LavitClient
import Testing

/// Catches accidental changes to the command line that scripts depend on.
@Test func clientHelpMatchesGolden() {
    #expect(LavitClientCommand.helpMessage(columns: 100) == golden)
}

private let golden = """
    OVERVIEW: Print lavitd's predictions and status.

    Each result is one line: the UTC time, the labels with their probabilities, and the rate.

    USAGE: lavit-client [--socket <socket>] [--json] [--once] [--status] [--count <count>] [--top <top>] [--follow]

    OPTIONS:
      --socket <socket>       The daemon's socket. (default: /run/lavitd/lavitd.sock)
      --json                  Print the daemon's JSON objects as they arrive, one per line.
      --once                  Print the first result, then exit.
      --status                Print the daemon's status, then exit.
      --count <count>         Print this many results, then exit.
      --top <top>             Labels per result (the daemon's maximum applies).
      --follow                Wait for the daemon, and reconnect every second when it goes away.
      -h, --help              Show help information.

    """
