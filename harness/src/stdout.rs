//! What commands print for people and pipes. A closed stdout (`oidc-harness serve --list-faults
//! | head -1`) ends the command quietly with exit 0, as Unix tools do; `print!` would panic.

use std::io::Write;

/// Writes `text` to stdout; a reader that went away ends the process.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("oidc-harness: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}
