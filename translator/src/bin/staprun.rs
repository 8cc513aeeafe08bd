//! The `staprun` binary: loads an rstap module and streams its output.
//! It is linked statically so that it runs alone in the testbed's initramfs.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "staprun", about = "Run an rstap kernel module: load it, stream its output, unload it")]
struct Args {
    /// Send the script's output to FILE instead of stdout (SIGUSR2 and the
    /// script's switch_file() switch to FILE.1, FILE.2, ...).
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// With -o: files of at most SIZE megabytes (FILE.0, FILE.1, ...), at most N of them kept.
    #[arg(short = 'S', value_name = "SIZE[,N]", value_parser = rstap::run::output::parse_switch_limits, requires = "output")]
    switch_limits: Option<rstap::run::SwitchLimits>,
    /// Write the output and its file switches as frames on stdout (the
    /// testbed's host side replays them into stap's -o FILE).
    #[arg(long = "framed-output", hide = true, conflicts_with = "output")]
    framed_output: bool,
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
        switch_limits: args.switch_limits,
        framed_output: args.framed_output,
        command: args.command,
        target_pid: args.target,
        verbose: args.verbose,
    };
    std::process::exit(rstap::run::staprun::run(&opts));
}
