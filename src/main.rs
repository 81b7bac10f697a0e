// The `ecolabel` binary: parses the command line and hands over to the library's CLI.
// Exit codes: 0 success, 1 failure (a one-line reason on stderr), 2 usage error.

fn main() -> std::process::ExitCode {
    ecolabel::cli::main()
}
