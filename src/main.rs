/// Counts allocated bytes for the memory budget of a run.
#[global_allocator]
static ALLOCATOR: pchat::engine::budget::CountingAllocator = pchat::engine::budget::CountingAllocator;

fn main() {
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`pchat -c ... | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(pchat::cli::main());
}
