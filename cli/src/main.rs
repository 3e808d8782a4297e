//! `npmap`: look at, summarise, create and convert NumPy files from the shell.
//!
//! A thin layer over the library: every command parses its arguments, calls
//! npmap, and prints. Errors are one line naming the file (exit status 1; usage
//! errors exit with 2).

/// `println!` that ends the program quietly when stdout is closed (`npmap info x | head`),
/// instead of panicking on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod convert;
mod create;
mod demo;
mod head;
mod info;
mod sigbus;
mod source;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Memory-mapped NumPy .npy/.npz files: inspect, summarise, create, convert.
#[derive(Parser)]
#[command(name = "npmap", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Format version, dtype, shape, order, offsets, zero-copy ability and page-cache residency.
    Info(info::Args),
    /// The first N rows along axis 0, exactly as NumPy's print(np.load(FILE)[:N]) with default print options.
    Head(head::Args),
    /// Count, sum, mean, std, min, max: whole array or along an axis, one pass on all cores.
    Stats(stats::Args),
    /// Create a file of a dtype and shape, filled with zeros or a range.
    Create(create::Args),
    /// Rewrite a file: native byte order, C order.
    Convert(convert::Args),
    /// The seed walkthrough: create, fill, reopen, share, summarise, save (with timings).
    Demo(demo::Args),
    /// Print one element of a float32 matrix (the demo's second process).
    #[command(hide = true)]
    Peek(demo::PeekArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sigbus::install();
    let result = match cli.command {
        Command::Info(args) => info::run(&args),
        Command::Head(args) => head::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Create(args) => create::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Peek(args) => demo::peek(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Reported) => ExitCode::from(1),
        Err(CliError::Usage(m)) => {
            eprintln!("npmap: {m}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("npmap: {e}");
            ExitCode::from(1)
        }
    }
}

/// What a command reports on failure: a library error or a plain message.
#[derive(Debug)]
enum CliError {
    Npmap(npmap::Error),
    Message(String),
    /// A command line that cannot do anything (exit status 2, as clap's own errors).
    Usage(String),
    /// Failures the command already reported on stderr.
    Reported,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Npmap(e) => write!(f, "{e}"),
            CliError::Message(m) | CliError::Usage(m) => f.write_str(m),
            CliError::Reported => f.write_str("errors were reported above"),
        }
    }
}

impl From<npmap::Error> for CliError {
    fn from(e: npmap::Error) -> Self {
        CliError::Npmap(e)
    }
}

type CliResult<T = ()> = Result<T, CliError>;

fn fail<T>(message: impl Into<String>) -> CliResult<T> {
    Err(CliError::Message(message.into()))
}

/// A file argument.
type FileArg = PathBuf;
