// The `ecolabel` binary: parses the command line and hands over to the library's CLI.
// Exit codes: 0 success, 1 failure (a one-line reason on stderr), 2 usage error.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    ecolabel::cli::main()
}

/// glibc gives each thread that allocates under contention an arena of its own (up to 8 per core), and
/// each keeps the memory its thread freed: a server whose blocking threads come and go grows by megabytes
/// of idle arenas. Two arenas serve two workers and the database threads with no measurable cost.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: called first thing in main, before any other thread exists; mallopt only sets a tunable.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
