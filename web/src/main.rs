//! `scry`: semantic image search from the command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Tesseract built with OpenMP (scry index --ocr) starts a team of threads
    // per picture; scry already reads one picture per core. Set before any
    // thread exists (the environment is not safe to change later).
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        std::env::set_var("OMP_THREAD_LIMIT", "1");
    }
    scry_web::cli::main()
}
