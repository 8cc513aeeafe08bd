//! vm_setup: the testbed's setup and its guest-building pieces.
//!
//! Input: this machine kind (Debian 12, root, apt). Output: pass/fail.
//! Invariants: `setup()` is idempotent; the second call does no download.
//! `scripts/testbed-setup` runs the `setup_is_idempotent` test as the shell
//! entry point for preparing a machine.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rstap::vm::initramfs::{self, Channel, CpioWriter, GuestSpec};
use rstap::vm::kmod::{self, VirtioPlan};
use rstap::vm::{self, GuestJob, SetupOptions};

#[test]
fn setup_is_idempotent() {
    let verbose = std::env::var_os("RSTAP_TEST_VERBOSE").is_some();
    let tb = vm::setup(verbose).unwrap_or_else(|e| panic!("{e}"));
    assert!(tb.vmlinuz.is_file());
    assert!(tb.headers.join("Makefile").is_file());
    assert!(tb.image.join(".complete").is_file());
    assert!(tb.release.ends_with("cloud-amd64"), "{}", tb.release);
    let t0 = Instant::now();
    let again = vm::setup(false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.release, tb.release);
    assert_eq!(again.vmlinuz, tb.vmlinuz);
    assert!(t0.elapsed() < Duration::from_secs(10), "second setup took {:?}", t0.elapsed());
    eprintln!("testbed ready: {tb:?}");
}

#[test]
fn bad_release_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = vm::setup_with(&SetupOptions {
        release: Some("0.0.0-nonexistent-cloud-amd64".into()),
        cache: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .expect_err("must fail");
    assert!(e.contains("0.0.0-nonexistent-cloud-amd64"), "{e}");
}

#[test]
fn virtio_modules_come_in_dependency_order() {
    let tb = vm::setup(false).unwrap_or_else(|e| panic!("{e}"));
    match kmod::plan_virtio(&tb.image, &tb.release) {
        VirtioPlan::BuiltIn => {}
        VirtioPlan::Unavailable(why) => panic!("{why}"),
        VirtioPlan::Modules(mods) => {
            let names: Vec<&str> = mods.iter().map(|(n, _)| n.as_str()).collect();
            let pos = |n: &str| names.iter().position(|x| *x == n);
            for (n, bytes) in &mods {
                for dep in kmod::module_depends(bytes).unwrap() {
                    assert!(pos(&dep) < pos(n), "{dep} must come before {n}: {names:?}");
                }
            }
            assert!(pos("virtio_console").is_some(), "{names:?}");
        }
    }
}

#[test]
fn cpio_archive_is_readable_by_cpio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.cpio");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = CpioWriter::new(f);
    w.dir("d").unwrap();
    w.file("d/f", 0o644, b"abc").unwrap();
    w.file("d/empty", 0o600, b"").unwrap();
    w.symlink("d/l", "/d/f").unwrap();
    w.chardev("dev-console", 0o600, 5, 1).unwrap();
    w.finish().unwrap();
    let data = std::fs::read(&path).unwrap();
    assert_eq!(data.len() % 4, 0);
    if Command::new("cpio").arg("--version").stdout(Stdio::null()).status().is_err() {
        return; // no cpio tool to cross-check with
    }
    let out = Command::new("cpio").args(["-itv", "--quiet", "-F"]).arg(&path).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 5, "{listing}");
    assert!(lines[1].starts_with("-rw-r--r--") && lines[1].ends_with("d/f"), "{listing}");
    assert!(lines[3].starts_with("lrwxrwxrwx") && lines[3].ends_with("d/l -> /d/f"), "{listing}");
    assert!(lines[4].starts_with("crw-------"), "{listing}");
}

#[test]
fn bad_guest_names_and_argv_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.cpio");
    let host = dir.path().join("f");
    std::fs::write(&host, "x").unwrap();
    for bad in ["../x", "/abs", "a//b", "", "a/./b"] {
        let mut j = GuestJob::cmd(&["true"]);
        j.files.push((host.clone(), bad.into()));
        let jobs = [j];
        let spec = GuestSpec { jobs: &jobs, channel: Channel::Serial, modules: &[], nonce: "n", job_timeout: None };
        let e = initramfs::build(&out, &spec).expect_err(bad);
        assert!(e.contains("bad guest file name"), "{e}");
    }
    let jobs = [GuestJob::cmd::<&str>(&[])];
    let spec = GuestSpec { jobs: &jobs, channel: Channel::Serial, modules: &[], nonce: "n", job_timeout: None };
    assert!(initramfs::build(&out, &spec).unwrap_err().contains("empty argv"));
    assert_eq!(initramfs::sh_quote("it's"), "'it'\\''s'");
}
