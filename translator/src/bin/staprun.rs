//! The `staprun` binary: loads an rstap module and streams its output.
//! It is linked statically so that it runs alone in the testbed's initramfs.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "staprun", about = "Run an rstap kernel module: load it, stream its output, unload it")]
struct Args {
    /// Send the script's output to FILE instead of stdout.
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Start CMD (under /bin/sh -c) once the probes are armed; stop when it exits.
    #[arg(short = 'c', value_name = "CMD")]
    command: Option<String>,
    /// The target process id, for target().
    #[arg(short = 'x', value_name = "PID")]
    target: Option<i32>,
    /// More messages (repeatable).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
    /// The module to run.
    module: PathBuf,
}

fn main() {
    let args = Args::parse();
    let opts = rstap::run::StaprunOptions {
        module: args.module,
        output: args.output,
        command: args.command,
        target_pid: args.target,
        verbose: args.verbose,
    };
    std::process::exit(rstap::run::staprun::run(&opts));
}
