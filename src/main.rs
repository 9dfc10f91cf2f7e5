//! The `vz` command line: parse flags, run one library call, render the result.

use std::process::ExitCode;

fn main() -> ExitCode {
    vz::cli::main()
}
