//! When a file shrinks while the CLI reads it through a mapping, the kernel sends
//! SIGBUS on the first access past the new end. The CLI only makes short-lived
//! read-only mappings of its input files, so it can turn that into an error line
//! and exit status 1 instead of dying silently: `npmap: FILE: file shrank while
//! being read`. (The library's contract is unchanged: a library user who maps a
//! file keeps it from shrinking.)
//!
//! The handler is signal-safe: it writes a message formatted before any mapping
//! was made, with `write`, and leaves with `_exit`. This is the only module of
//! the CLI with `unsafe` code.

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The message the handler writes, made once and never freed.
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);

/// The message for files `files`: `npmap: a.npy: file shrank while being read`.
pub(crate) fn message(files: &[String]) -> String {
    let names = match files {
        [] => "input file".to_string(),
        _ => files.join(", "),
    };
    format!("npmap: {names}: file shrank while being read\n")
}

/// The first argument of the command line (after the subcommand) that names an
/// existing file (an archive member `A.npz:NAME` counts when `A.npz` exists): the
/// input, which the CLI maps. In `convert IN OUT` an existing output comes after it.
pub(crate) fn input_files(args: impl IntoIterator<Item = OsString>) -> Vec<String> {
    args.into_iter()
        .skip(2) // the program and the subcommand
        .filter_map(|a| a.into_string().ok())
        .filter(|a| !a.starts_with('-'))
        .filter(|a| {
            let archive = a
                .rsplit_once(".npz:")
                .map(|(stem, _)| format!("{stem}.npz"));
            Path::new(archive.as_deref().unwrap_or(a)).is_file()
        })
        .take(1)
        .collect()
}

/// Installs the handler, naming the files of this command line.
pub(crate) fn install() {
    let files = input_files(std::env::args_os());
    let text: &'static mut [u8] = message(&files).into_bytes().leak();
    MESSAGE_LEN.store(text.len(), Ordering::SeqCst);
    MESSAGE.store(text.as_mut_ptr(), Ordering::SeqCst);
    // SAFETY: an all-zero `sigaction` is a valid value (no flags, empty mask, default
    // handler); every field the kernel reads is set below before it is passed.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `sa_mask` is a valid `sigset_t` owned by `action`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and outlives the call; the old action is
    // not asked for. The handler only calls async-signal-safe functions.
    let installed = unsafe { libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) };
    debug_assert_eq!(installed, 0);
}

extern "C" fn on_sigbus(_signal: libc::c_int) {
    let text = MESSAGE.load(Ordering::SeqCst);
    let len = MESSAGE_LEN.load(Ordering::SeqCst);
    if !text.is_null() {
        // SAFETY: `text` points at `len` bytes leaked in `install`, never freed or
        // written again; write(2) is async-signal-safe. Its result cannot be acted on.
        let _ = unsafe { libc::write(libc::STDERR_FILENO, text.cast(), len) };
    }
    // SAFETY: _exit is async-signal-safe and ends the process without running
    // destructors or atexit handlers, which a signal handler must not.
    unsafe { libc::_exit(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npy");
        std::fs::write(&a, b"x").unwrap();
        let z = dir.path().join("z.npz");
        std::fs::write(&z, b"x").unwrap();
        let arg = |s: &str| OsString::from(s);
        let a_text = a.display().to_string();
        let files = input_files([arg("npmap"), arg("head"), arg("-n"), arg("5"), arg(&a_text)]);
        assert_eq!(files, std::slice::from_ref(&a_text));
        assert_eq!(
            message(&files),
            format!("npmap: {a_text}: file shrank while being read\n")
        );
        let member = format!("{}:X", z.display());
        let out = dir.path().join("out.npy").display().to_string();
        assert_eq!(
            input_files([arg("npmap"), arg("convert"), arg(&member), arg(&out)]),
            [member]
        );
        assert_eq!(
            message(&[]),
            "npmap: input file: file shrank while being read\n"
        );
    }
}
