//! `stap -l` / `stap -L` lines for function probes.
//!
//! Input: a [`FunctionInfo`] and (for `-L`) its [`Variable`]s at the probe
//! pc. Output: the exact text SystemTap prints, e.g.
//! `kernel.function("vfs_read@fs/read_write.c:450") $file:struct file* $buf:char* $count:size_t $pos:loff_t*`.
//! Invariants: `probe_point` / `listing_line` are pure formatting;
//! `list_functions` asks a [`DebugInfo`] and returns sorted, unique lines.

use super::{DebugInfo, FunctionInfo, FunctionPattern, PrologueMode, Result, Variable};

/// `PREFIX.function("name@file:line")`; `prefix` is `kernel` or
/// `module("ext4")`.
pub fn probe_point(prefix: &str, f: &FunctionInfo) -> String {
    format!("{prefix}.function(\"{}\")", f.spec())
}

/// The `-L` line: the probe point, then ` $name:type` for each variable.
pub fn listing_line(prefix: &str, f: &FunctionInfo, vars: &[Variable]) -> String {
    let mut s = probe_point(prefix, f);
    for v in vars {
        s.push_str(&format!(" ${}:{}", v.name, v.type_name));
    }
    s
}

/// The lines of `stap -l` (`with_vars == false`) or `stap -L` for
/// `PREFIX.function("PATTERN")`: one line per matching function, sorted
/// and unique. `-L` shows the variables at the probe address of the
/// out-of-line instance, or of the first inline instance.
pub fn list_functions(di: &dyn DebugInfo, prefix: &str, pattern: &str, with_vars: bool) -> Result<Vec<String>> {
    let pat = FunctionPattern::parse(pattern)?;
    let mut lines = Vec::new();
    for f in di.functions(&pat)? {
        if !with_vars {
            lines.push(probe_point(prefix, &f));
            continue;
        }
        let site = match f.probe_pc(PrologueMode::Auto) {
            Some(pc) => Some((f.die, pc)),
            None => f.inline_instances.first().map(|i| (i.die, i.entry_pc)),
        };
        let vars = match site {
            Some((die, pc)) => di.variables(die, pc)?,
            None => Vec::new(),
        };
        lines.push(listing_line(prefix, &f, &vars));
    }
    lines.sort();
    lines.dedup();
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::{VarKind, VarLocation};

    #[test]
    fn format() {
        let f = FunctionInfo {
            name: "vfs_read".into(),
            cu_name: "fs/read_write.c".into(),
            decl_file: Some("fs/read_write.c".into()),
            decl_line: 450,
            external: true,
            die: 0,
            entry_pc: Some(0),
            prologue_end: None,
            optimized: true,
            inline_instances: vec![],
            clones: Vec::new(),
            return_type: None,
        };
        let v = |n: &str, t: &str| Variable {
            name: n.into(),
            kind: VarKind::Param,
            type_id: None,
            type_name: t.into(),
            location: VarLocation::OptimizedOut,
        };
        assert_eq!(
            listing_line("kernel", &f, &[v("file", "struct file*"), v("count", "size_t")]),
            "kernel.function(\"vfs_read@fs/read_write.c:450\") $file:struct file* $count:size_t"
        );
    }
}
