//! C for associative arrays and statistics.
//!
//! Input: the IR nodes `Index`, `IndexAssign`, `IndexIncDec`, `In`,
//! `Accumulate`, `Stat`, `PrintHist`, `Foreach` and `Delete`. Output: C
//! expressions and statements calling runtime-c/rstap_map.h and
//! rstap_stat.h, plus the declarations, setup and teardown of each array
//! global (`global_parts`). Invariants: keys are passed as compound
//! literals of `struct rstap_kv`; string values read from a map are copied
//! into a temporary before use, so a later store cannot change them; a
//! foreach pops its snapshot on every way out except errors, which unwind
//! the whole handler (the handler resets the snapshot stack on entry).
//! The foreach skeleton is `templates/stmt/foreach.c.tera`; stores,
//! updates, statistic reads and histogram printing are calls of
//! `runtime-c/rstap_expr.h` (Rust writes calls, never statements), and a
//! value the script evaluates before the keys goes through a frame
//! temporary unless the order cannot show.

use super::emit::{c_string, Emitter};
use crate::diag::Span;
use crate::ir::{BinaryOp, Expr, ExprKind, Global, HistSpec, Program, Sort, StatOp, Stmt, Type};

/// The C of one global's storage: its field in `rstap_globals`, a static
/// histogram descriptor, and the calls that set it up and tear it down.
pub struct GlobalParts {
    pub decl: String,
    pub statics: Option<String>,
    pub setup: Option<String>,
    pub teardown: Option<String>,
    /// Maximum entries, as a C expression (arrays only).
    pub capacity: Option<String>,
}

fn hist_desc(g: &Global) -> String {
    let (kind, start, stop, interval, nb) = match g.hist {
        None => ("RSTAP_HIST_NONE", 0, 0, 0, "0".to_string()),
        Some(HistSpec::Log) => ("RSTAP_HIST_LOG", 0, 0, 0, "RSTAP_HIST_LOG_BUCKETS".to_string()),
        Some(HistSpec::Linear { start, stop, interval }) => {
            // start..stop inclusive, plus the underflow and overflow buckets.
            let n = (stop as i128 - start as i128) / interval as i128 + 1 + 2;
            ("RSTAP_HIST_LINEAR", start, stop, interval, n.to_string())
        }
    };
    let (variance, shift) = match g.variance_shift {
        Some(s) => (1, s),
        None => (0, 0),
    };
    format!(
        "static const struct rstap_hist rstap_hist_{} = {{ .kind = {kind}, .start = {start}LL, .stop = {stop}LL, .interval = {interval}LL, .nb = {nb}, .variance = {variance}, .shift = {shift} }};",
        g.name
    )
}

pub fn global_parts(g: &Global) -> Option<GlobalParts> {
    let field = format!("rstap_globals.g_{}", g.name);
    let name = c_string(&g.name);
    let types: String = g
        .keys
        .as_ref()
        .map(|k| k.iter().map(|t| if *t == Type::String { 's' } else { 'l' }).collect())
        .unwrap_or_default();
    let cap = match (g.is_array(), g.max_entries) {
        (false, _) => "1".to_string(),
        (true, Some(n)) => n.to_string(),
        (true, None) => "MAXMAPENTRIES".to_string(),
    };
    let wrap = g.wrap as u8;
    if g.ty == Type::Stat {
        return Some(GlobalParts {
            decl: format!("struct rstap_pmap g_{}", g.name),
            statics: Some(hist_desc(g)),
            setup: Some(format!(
                "rstap_pmap_init(&{field}, {name}, \"{types}\", &rstap_hist_{}, {cap}, {wrap})",
                g.name
            )),
            teardown: Some(format!("rstap_pmap_free(&{field})")),
            capacity: g.is_array().then_some(cap),
        });
    }
    if !g.is_array() {
        return None;
    }
    let vt = if g.ty == Type::String { "RSTAP_VAL_STRING" } else { "RSTAP_VAL_LONG" };
    Some(GlobalParts {
        decl: format!("struct rstap_map g_{}", g.name),
        statics: None,
        setup: Some(format!("rstap_map_init(&{field}, {name}, \"{types}\", {vt}, NULL, {cap}, {wrap})")),
        teardown: Some(format!("rstap_map_free(&{field})")),
        capacity: Some(cap),
    })
}

/// Whether `e` is a literal: its value cannot depend on when it is
/// evaluated (a variable can: `a[i++] = i`, `a[f()] = g` with f writing g).
pub(super) fn is_pure(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Long(_) | ExprKind::Str(_))
}

fn stat_index(op: StatOp) -> u8 {
    match op {
        StatOp::Sum => 1,
        StatOp::Min => 2,
        StatOp::Max => 3,
        StatOp::Avg => 4,
        StatOp::Count | StatOp::Variance => 0,
    }
}

/// What a foreach iterates and binds (see `StmtKind::Foreach`).
pub struct ForeachSpec<'a> {
    pub global: usize,
    pub slice: &'a [Option<Expr>],
    pub keys: &'a [usize],
    pub value: Option<usize>,
    pub sort: Option<Sort>,
    pub limit: Option<&'a Expr>,
}

/// The `RSTAP_OP_*` of `a[k] op= v` (runtime-c/rstap_expr.h).
fn update_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "RSTAP_OP_ADD",
        BinaryOp::Sub => "RSTAP_OP_SUB",
        BinaryOp::Mul => "RSTAP_OP_MUL",
        BinaryOp::Div => "RSTAP_OP_DIV",
        BinaryOp::Mod => "RSTAP_OP_MOD",
        BinaryOp::Shl => "RSTAP_OP_SHL",
        BinaryOp::Shr => "RSTAP_OP_SHR",
        BinaryOp::BitAnd => "RSTAP_OP_AND",
        BinaryOp::BitOr => "RSTAP_OP_OR",
        BinaryOp::BitXor => "RSTAP_OP_XOR",
        _ => "RSTAP_OP_SET",
    }
}

/// `(store, value)` as one C expression: the store (if any) runs first.
pub(super) fn sequence(store: Option<String>, value: String) -> String {
    match store {
        Some(s) => format!("({s}, {value})"),
        None => value,
    }
}

impl Emitter<'_> {
    /// A value that C must evaluate before what follows it in the same
    /// call (C leaves the order of arguments open, the script does not):
    /// a literal as itself, anything else stored into a frame temporary
    /// first. Returns (the store, the value to use).
    /// `others` are the expressions evaluated with it; when they are all
    /// literals, the order cannot show.
    pub(super) fn value_first(&mut self, e: &Expr, others: &[Expr]) -> (Option<String>, String) {
        let x = self.expr(e);
        if is_pure(e) || others.iter().all(is_pure) {
            return (None, x);
        }
        let t = self.temp(e.ty);
        (Some(format!("{t} = {x}")), t)
    }

    fn fresh(&mut self) -> usize {
        self.temps += 1;
        self.temps
    }

    fn map_ref(&self, global: usize) -> String {
        format!("&rstap_globals.g_{}", self.prog.globals[global].name)
    }

    fn is_stat(&self, global: usize) -> bool {
        self.prog.globals[global].ty == Type::Stat
    }

    /// The keys as a `const struct rstap_kv[]` compound literal (NULL: none).
    fn kv(&mut self, keys: &[Expr]) -> String {
        if keys.is_empty() {
            return "NULL".into();
        }
        let parts: Vec<String> = keys.iter().map(|k| self.kv_one(k)).collect();
        format!("((const struct rstap_kv[]){{ {} }})", parts.join(", "))
    }

    /// One key as a `struct rstap_kv` initialiser.
    fn kv_one(&mut self, k: &Expr) -> String {
        let x = self.expr(k);
        if k.ty == Type::String {
            format!("{{ .s = {x} }}")
        } else {
            format!("{{ .n = {x} }}")
        }
    }

    /// A slice's keys (`*` as a zero placeholder) and the mask of the
    /// keys that are given, as C.
    fn slice_kv(&mut self, keys: &[Option<Expr>]) -> (String, String) {
        let mut mask = 0u32;
        let parts: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                None => "{ .n = 0 }".to_string(),
                Some(k) => {
                    mask |= 1 << i;
                    self.kv_one(k)
                }
            })
            .collect();
        (format!("((const struct rstap_kv[]){{ {} }})", parts.join(", ")), format!("{mask}u"))
    }

    pub(super) fn exists_slice(&mut self, global: usize, keys: &[Option<Expr>]) -> String {
        let m = self.map_ref(global);
        let (kv, mask) = self.slice_kv(keys);
        let f = if self.is_stat(global) { "rstap_pmap_exists_slice_c" } else { "rstap_map_exists_slice_c" };
        format!("((int64_t){f}(CB, {m}, {kv}, {mask}))")
    }

    pub(super) fn delete_slice(&mut self, global: usize, keys: &[Option<Expr>]) -> String {
        let m = self.map_ref(global);
        let (kv, mask) = self.slice_kv(keys);
        let f = if self.is_stat(global) { "rstap_pmap_delete_slice_c" } else { "rstap_map_delete_slice_c" };
        format!("{f}(CB, {m}, {kv}, {mask})")
    }

    pub(super) fn index(&mut self, global: usize, keys: &[Expr]) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        if self.prog.globals[global].ty == Type::String {
            let t = self.temp(Type::String);
            format!("rstap_strcpy({t}, rstap_map_get_str({m}, {kv}))")
        } else {
            format!("rstap_map_get_long({m}, {kv})")
        }
    }

    pub(super) fn index_assign(&mut self, global: usize, keys: &[Expr], op: Option<BinaryOp>, value: &Expr, span: Span) -> String {
        let m = self.map_ref(global);
        if self.prog.globals[global].ty == Type::String {
            // The value is copied first: a later store cannot change it.
            let x = self.expr(value);
            let t = self.temp(Type::String);
            let kv = self.kv(keys);
            let loc = self.location(span);
            let f = if op.is_some() { "rstap_map_append_str" } else { "rstap_map_store_str" };
            return format!("(rstap_strcpy({t}, {x}), {f}(CB, {m}, {kv}, {t}, {loc}))");
        }
        let (store, v) = self.value_first(value, keys);
        let kv = self.kv(keys);
        let loc = self.location(span);
        let call = match op {
            None => format!("rstap_map_set_long(CB, {m}, {kv}, {v}, {loc})"),
            Some(op) => {
                let oploc = match op {
                    BinaryOp::Div | BinaryOp::Mod => self.op_location(op, span, span.lo),
                    _ => "NULL".to_string(),
                };
                format!("rstap_map_update_long(CB, {m}, {kv}, {}, {v}, {loc}, {oploc})", update_op(op))
            }
        };
        sequence(store, call)
    }

    pub(super) fn index_incdec(&mut self, global: usize, keys: &[Expr], increment: bool, prefix: bool, span: Span) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let loc = self.location(span);
        let delta = if increment { "1" } else { "-1" };
        format!("rstap_map_incdec(CB, {m}, {kv}, {delta}, {}, {loc})", prefix as u8)
    }

    pub(super) fn exists(&mut self, global: usize, keys: &[Expr]) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        if self.is_stat(global) {
            format!("((int64_t)rstap_pmap_exists({m}, {kv}))")
        } else {
            format!("((int64_t)(rstap_map_find({m}, {kv}) >= 0))")
        }
    }

    pub(super) fn accumulate(&mut self, global: usize, keys: &[Expr], value: &Expr, span: Span) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let x = self.expr(value);
        let loc = self.location(span);
        let name = &self.prog.globals[global].name;
        format!("rstap_pmap_add_h(CB, {m}, &rstap_hist_{name}, {kv}, {x}, {loc})")
    }

    pub(super) fn stat(&mut self, op: StatOp, global: usize, keys: &[Expr], span: Span) -> String {
        let m = self.map_ref(global);
        let missing = if keys.is_empty() { "empty aggregate" } else { "aggregate element not found" };
        let kv = self.kv(keys);
        let loc = self.location(span);
        let name = &self.prog.globals[global].name;
        let which = match op {
            StatOp::Count => "RSTAP_STAT_COUNT",
            StatOp::Sum => "RSTAP_STAT_SUM",
            StatOp::Min => "RSTAP_STAT_MIN",
            StatOp::Max => "RSTAP_STAT_MAX",
            StatOp::Avg => "RSTAP_STAT_AVG",
            StatOp::Variance => "RSTAP_STAT_VARIANCE",
        };
        format!("rstap_stat_read(CB, &rstap_hist_{name}, rstap_pmap_get({m}, {kv}), {which}, \"{missing}\", {loc})")
    }

    pub(super) fn print_hist(&mut self, global: usize, keys: &[Expr], newline: bool) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let name = &self.prog.globals[global].name;
        format!("rstap_hist_print_expr(CB, &rstap_hist_{name}, rstap_pmap_get({m}, {kv}), {})", newline as u8)
    }

    pub(super) fn sprint_hist(&mut self, global: usize, keys: &[Expr], newline: bool) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let t = self.temp(Type::String);
        let name = &self.prog.globals[global].name;
        format!("rstap_hist_sprint({t}, &rstap_hist_{name}, rstap_pmap_get({m}, {kv}), {})", newline as u8)
    }

    pub(super) fn hist_bucket(&mut self, global: usize, keys: &[Expr], index: &Expr) -> String {
        let m = self.map_ref(global);
        let (store, i) = self.value_first(index, keys);
        let kv = self.kv(keys);
        let name = &self.prog.globals[global].name;
        sequence(store, format!("rstap_hist_bucket(&rstap_hist_{name}, rstap_pmap_get({m}, {kv}), {i})"))
    }

    pub(super) fn delete(&mut self, global: usize, keys: Option<&[Expr]>) -> String {
        let g = &self.prog.globals[global];
        let m = self.map_ref(global);
        let stat = g.ty == Type::Stat;
        match keys {
            Some(keys) => {
                let kv = self.kv(keys);
                if stat {
                    format!("rstap_pmap_delete({m}, {kv})")
                } else {
                    format!("rstap_map_delete({m}, {kv})")
                }
            }
            None if stat => format!("rstap_pmap_clear_c(CB, {m})"),
            None if g.is_array() => format!("rstap_map_clear_c(CB, {m})"),
            None if g.ty == Type::String => format!("rstap_globals.g_{}[0] = '\\0'", g.name),
            None => format!("rstap_globals.g_{} = 0", g.name),
        }
    }

    /// The values of `templates/stmt/foreach.c.tera`.
    pub(super) fn foreach(&mut self, spec: &ForeachSpec, body: &Stmt, span: Span, depth: usize, out: &mut String) {
        let ForeachSpec { global, slice, keys, value, sort, limit } = *spec;
        let n = self.fresh();
        let (mv, bv, nv, iv, ev, lv) = (format!("m{n}_"), format!("b{n}_"), format!("n{n}_"), format!("i{n}_"), format!("e{n}_"), format!("lim{n}_"));
        let mut c = tera::Context::new();
        c.insert("ind", &"\t".repeat(depth));
        c.insert("loc", &self.location(span));
        c.insert("map", &self.map_ref(global));
        c.insert("stat", &self.is_stat(global));
        c.insert("limit", &limit.map(|e| self.expr(e)));
        let (kv, mask) = if slice.is_empty() { ("NULL".to_string(), "0u".to_string()) } else { self.slice_kv(slice) };
        c.insert("kv", &kv);
        c.insert("mask", &mask);
        let (column, desc, stat) = match sort {
            Some(s) => (s.column as i64, (!s.ascending) as u8, stat_index(s.stat)),
            None => (-1, 0, 0),
        };
        c.insert("column", &column);
        c.insert("desc", &desc);
        c.insert("stat_index", &stat);
        let key_types = self.prog.globals[global].keys.clone().unwrap_or_default();
        let mut binds = Vec::new();
        for (k, &l) in keys.iter().enumerate() {
            let v = self.var(crate::ir::Var::Local(l));
            if key_types.get(k) == Some(&Type::String) {
                binds.push(format!("rstap_strcpy({v}, rstap_map_key_str({mv}, {ev}, {k}))"));
            } else {
                binds.push(format!("{v} = rstap_map_key_long({mv}, {ev}, {k})"));
            }
        }
        if let Some(l) = value {
            let v = self.var(crate::ir::Var::Local(l));
            if self.prog.globals[global].ty == Type::String {
                binds.push(format!("rstap_strcpy({v}, (const char *)rstap_map_value({mv}, {ev}))"));
            } else {
                binds.push(format!("{v} = *(int64_t *)rstap_map_value({mv}, {ev})"));
            }
        }
        c.insert("binds", &binds);
        self.foreach_bases.push(bv.clone());
        let b = self.nested(body, depth + 3);
        self.foreach_bases.pop();
        c.insert("body", &b);
        for (k, v) in [("m", mv), ("b", bv), ("n", nv), ("i", iv), ("e", ev), ("lim", lv)] {
            c.insert(k, &v);
        }
        out.push_str(&super::templates::render_stmt("stmt/foreach.c", &c));
    }
}

/// Per-CPU snapshot room for foreach: four full snapshots of the largest
/// array, as a C expression (None when the program has no arrays).
pub fn iter_stack_size(prog: &Program) -> Option<String> {
    let caps: Vec<String> = prog.globals.iter().filter_map(|g| global_parts(g).and_then(|p| p.capacity)).collect();
    if caps.is_empty() {
        return None;
    }
    Some(format!("4 * ({})", caps.join(" + ")))
}
