//! What commands print for people and pipes. A closed stdout (`oidc-harness serve --list-faults
//! | head -1`) ends the command quietly with exit 0, as Unix tools do; `print!` would panic.
//! A library that prints on stdout (goose's "N users launched.") is sent to stderr while it
//! runs (`ToStderr`): stdout carries results only.

use std::io::Write;

/// Writes `text` to stdout; a reader that went away ends the process.
pub fn print(text: &str) {
    if let Err(e) = try_print(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("oidc-harness: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Writes `text` to stdout, for a result whose verdict must still reach the exit code when the
/// reader went away.
pub fn try_print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// While it lives, whatever writes to the process's stdout (file descriptor 1) writes to stderr.
pub struct ToStderr {
    saved: libc::c_int,
}

impl ToStderr {
    pub fn new() -> ToStderr {
        let _ = std::io::stdout().flush();
        // SAFETY: fcntl and dup2 on the process's own standard descriptors. The saved copy is
        // close-on-exec (children do not inherit it); when the redirection fails, stdout stays
        // as it was and nothing is restored.
        let mut saved = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
        if saved >= 0 && unsafe { libc::dup2(2, 1) } < 0 {
            unsafe { libc::close(saved) };
            saved = -1;
        }
        ToStderr { saved }
    }
}

impl Drop for ToStderr {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        if self.saved >= 0 {
            // SAFETY: puts back the descriptor `new` saved, and closes the copy.
            unsafe {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
        }
    }
}
