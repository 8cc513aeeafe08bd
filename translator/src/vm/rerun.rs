//! rerun: runs a batch of guest jobs and survives one hung guest per job.
//!
//! Input: the jobs, [`RunOptions`] and [`JobLimits`] (with `per_job` set,
//! or no hang can be told apart from a slow run).
//! Output: one [`JobResult`] per job, and a [`Rerun`] for every job that
//! hung its guest once and was run again in a fresh boot (with the jobs
//! after it); an error when the same job hangs a second guest, or the run
//! fails in any other way.
//! Invariants: every job runs to its end in some boot; a job is rerun at
//! most once, so a script that hangs the kernel every time still fails the
//! caller; what the first hang looked like (with the console tail) is kept
//! in the [`Rerun`] for the caller to print.

use std::collections::HashSet;

use super::qemu::{run_jobs_or_hang, RunFailure};
use super::{GuestJob, JobLimits, JobResult, RunOptions, Testbed};

/// A job that hung a guest once; it and the jobs after it ran again.
#[derive(Debug, Clone)]
pub struct Rerun {
    /// Index of the job in the batch.
    pub job: usize,
    /// How the guest hung, with the tail of its kernel console.
    pub message: String,
}

/// Runs `jobs` in as few boots as possible: one, unless a job hangs the
/// guest; then a fresh guest runs that job and the rest.
pub fn run_jobs_rerunning(
    tb: &Testbed,
    jobs: &[GuestJob],
    opts: &RunOptions,
    limits: &JobLimits,
) -> Result<(Vec<JobResult>, Vec<Rerun>), String> {
    let mut results = Vec::with_capacity(jobs.len());
    let mut reruns = Vec::new();
    let mut rerun_once = HashSet::new();
    while results.len() < jobs.len() {
        let start = results.len();
        match run_jobs_or_hang(tb, &jobs[start..], opts, limits) {
            Ok((r, _)) => results.extend(r),
            Err(RunFailure::Hung(h)) => {
                let job = start + h.job;
                if !rerun_once.insert(job) {
                    return Err(format!("job {job} hung a fresh guest too: {}", h.message));
                }
                results.extend(h.partial.into_iter().take(h.job));
                reruns.push(Rerun { job, message: h.message });
            }
            Err(RunFailure::Other(m)) => return Err(m),
        }
    }
    Ok((results, reruns))
}
