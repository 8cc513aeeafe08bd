//! Placeholder until the testbed lands.
use std::path::PathBuf;
use std::time::Duration;
pub struct Testbed { pub release: String, pub vmlinuz: PathBuf, pub headers: PathBuf, pub cache: PathBuf }
impl Testbed { pub fn image_root(&self) -> PathBuf { self.cache.clone() } }
pub fn setup(_verbose: bool) -> Result<Testbed, String> { Err("testbed not available yet".into()) }
pub struct GuestJob { pub files: Vec<(PathBuf, String)>, pub argv: Vec<String> }
pub struct JobResult { pub stdout: Vec<u8>, pub stderr: Vec<u8>, pub status: i32 }
pub struct RunOptions { pub verbose: bool, pub timeout: Duration, pub live: bool }
pub fn run_jobs(_tb: &Testbed, _jobs: &[GuestJob], _opts: &RunOptions) -> Result<Vec<JobResult>, String> { Err("no".into()) }
