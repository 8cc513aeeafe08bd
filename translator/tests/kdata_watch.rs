//! `kernel.data(...)` watchpoints at pass 2: more than the CPU's four
//! debug registers is a warning naming the first one that will not fit
//! (as SystemTap warns); the run then arms four (testsuite/runok's
//! kdata_toomany shows it in the guest).

use std::process::Command;

#[test]
fn a_fifth_watchpoint_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let script = "probe kernel.data(0xffffffff82b48ec0).write {}\n\
                  probe kernel.data(0xffffffff82b48ec4).write {}\n\
                  probe kernel.data(0xffffffff82b48ec8).rw {}\n\
                  probe kernel.data(\"vm_dirty_ratio\").write, kernel.data(\"vm_swappiness\").write {}\n";
    std::fs::write(dir.path().join("five.stp"), script).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir.path())
        .args(["-p2", "-r", "0.0.0-kdata", "five.stp"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "warning: 5 hardware watchpoints are requested, but x86_64 has 4 debug registers: \
         `kernel.data(\"vm_swappiness\").write` and any later ones will fail to register\n  \
         ┌─ five.stp:4:44\n  │\n4 │ probe kernel.data(\"vm_dirty_ratio\").write, kernel.data(\"vm_swappiness\").write {}\n  \
         │                                            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\n"
    );
    // Four fit: no warning.
    std::fs::write(dir.path().join("four.stp"), script.lines().take(3).collect::<Vec<_>>().join("\n") + "\nprobe kernel.data(\"vm_dirty_ratio\").write {}\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_stap"))
        .current_dir(dir.path())
        .args(["-p2", "-r", "0.0.0-kdata", "four.stp"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn listing_prints_the_points_as_pp_shows_them() {
    for (point, want) in [
        ("kernel.data(\"vm_dirty_ratio\").write", "kernel.data(\"vm_dirty_ratio\").write\n"),
        ("kernel.data(4096).length(2).rw", "kernel.data(0x1000).length(2).rw\n"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", "0.0.0-kdata", "-l", point]).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), want);
    }
    let o = Command::new(env!("CARGO_BIN_EXE_stap")).args(["-r", "0.0.0-kdata", "-l", "kernel.data(4096)"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`kernel.data(0x1000)` needs .write or .rw after it"));
}
