//! `procfs("PATH").read`, `procfs("PATH").write`, with `.umask(U)` after
//! the path and `.maxsize(N)` after `.read` (or `.umask(U).maxsize(N)`, a
//! read), and `procfs.read` / `procfs.write` for the file "command": a file
//! `/proc/systemtap/MODULE/PATH` whose reads and writes run the probe.
//!
//! Input: the point. Output: one `ProbeKind::Hook(Hook::Procfs)`.
//! Invariants: PATH is relative, made of `/`-separated names of letters,
//! digits, `_`, `-` and `.` (not `.` or `..`), so it reaches the C as it
//! is; writes to "__stdin" (the input probes' file) reach its write
//! probes one byte at a time; umask is 0..=0777 and
//! maxsize 1..=1 MiB.

use super::hooks::Hook;
use super::{format_point, no_more, number_arg, ProbeError, Resolved};
use crate::ir::ProbeKind;
use crate::syntax::ast::{Literal, ProbePoint};

const MAX_SIZE: i64 = 1 << 20;

fn check_path(path: &str) -> Result<(), String> {
    let ok_name = |n: &str| {
        !n.is_empty() && n != "." && n != ".." && n.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    };
    if path.len() > 200 || !path.split('/').all(ok_name) {
        return Err(format!(
            "procfs path \"{path}\" must be relative: names of letters, digits, `_`, `-` and `.` separated by `/`"
        ));
    }
    Ok(())
}

pub fn resolve(point: &ProbePoint) -> Result<Resolved, ProbeError> {
    let comps = &point.components;
    let first = &comps[0];
    let path = match &first.arg {
        None => "command".to_string(),
        Some(Literal::String(s)) => s.clone(),
        Some(Literal::Number(_)) => return Err(ProbeError::new(first.span, "procfs needs a string path: procfs(\"PATH\")")),
    };
    check_path(&path).map_err(|m| ProbeError::new(first.span, m))?;
    let mut i = 1;
    let mut umask = None;
    if let Some(c) = comps.get(i).filter(|c| c.name == "umask") {
        let u = number_arg(c)?;
        if !(0..=0o777).contains(&u) {
            return Err(ProbeError::new(c.span, format!("procfs umask {u:#o} is not between 0 and 0777")));
        }
        umask = Some(u);
        i += 1;
    }
    let maxsize_at = |i: usize| -> Result<Option<i64>, ProbeError> {
        match comps.get(i).filter(|c| c.name == "maxsize") {
            None => Ok(None),
            Some(c) => {
                let n = number_arg(c)?;
                if !(1..=MAX_SIZE).contains(&n) {
                    return Err(ProbeError::new(c.span, format!("procfs maxsize {n} is not between 1 and {MAX_SIZE}")));
                }
                Ok(Some(n))
            }
        }
    };
    let (write, maxsize, used) = match comps.get(i).map(|c| (c.name.as_str(), c.arg.is_none())) {
        Some(("read", true)) => {
            let m = maxsize_at(i + 1)?;
            (false, m, i + 1 + m.is_some() as usize)
        }
        Some(("write", true)) => (true, None, i + 1),
        Some(("maxsize", _)) if umask.is_some() => (false, maxsize_at(i)?, i + 1),
        _ => {
            let span = comps.get(i).map(|c| c.span).unwrap_or(first.span);
            return Err(ProbeError::new(span, "a procfs probe ends in .read (optionally .maxsize(N)) or .write"));
        }
    };
    no_more(point, used)?;
    let kind = ProbeKind::Hook(Hook::Procfs { path, write, maxsize, umask });
    Ok(vec![(kind, format_point(&comps[..used]))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Component;

    fn point(parts: &[(&str, Option<Literal>)]) -> ProbePoint {
        let components =
            parts.iter().map(|(n, a)| Component { name: n.to_string(), arg: a.clone(), span: Default::default() }).collect();
        ProbePoint { components, optional: false, sufficient: false, condition: None, span: Default::default() }
    }
    fn s(v: &str) -> Option<Literal> {
        Some(Literal::String(v.into()))
    }

    #[test]
    fn forms() {
        let r = resolve(&point(&[("procfs", s("a/b")), ("umask", Some(Literal::Number(0o40))), ("read", None), ("maxsize", Some(Literal::Number(1024)))])).unwrap();
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Procfs { path: "a/b".into(), write: false, maxsize: Some(1024), umask: Some(0o40) }));
        let r = resolve(&point(&[("procfs", None), ("write", None)])).unwrap();
        assert_eq!(r[0].0, ProbeKind::Hook(Hook::Procfs { path: "command".into(), write: true, maxsize: None, umask: None }));
        assert_eq!(r[0].1, "procfs.write");
    }

    #[test]
    fn bad_points() {
        let e = resolve(&point(&[("procfs", s("../x")), ("read", None)])).unwrap_err();
        assert!(e.message.starts_with("procfs path \"../x\" must be relative"), "{}", e.message);
        let e = resolve(&point(&[("procfs", s("x"))])).unwrap_err();
        assert_eq!(e.message, "a procfs probe ends in .read (optionally .maxsize(N)) or .write");
        let e = resolve(&point(&[("procfs", s("x")), ("write", None), ("maxsize", Some(Literal::Number(5)))])).unwrap_err();
        assert!(e.message.starts_with("unexpected probe point component `maxsize`"), "{}", e.message);
    }
}
