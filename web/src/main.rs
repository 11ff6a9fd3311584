//! `scry`: semantic image search from the command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    scry_web::cli::main()
}
