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
//! The foreach skeleton is `templates/stmt/foreach.c.tera`.

use super::emit::{c_string, Emitter};
use crate::diag::Span;
use crate::ir::{BinaryOp, Expr, Global, HistSpec, Program, Sort, StatOp, Stmt, Type};

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

impl Emitter<'_> {
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
        let kv = self.kv(keys);
        let x = self.expr(value);
        let loc = self.location(span);
        let n = self.fresh();
        if self.prog.globals[global].ty == Type::String {
            let t = self.temp(Type::String);
            return match op {
                None => format!("({{ rstap_strcpy({t}, {x}); rstap_map_set_str(CB, {m}, {kv}, {t}, {loc}); {t}; }})"),
                Some(_) => format!(
                    "({{ char *p{n}_; rstap_strcpy({t}, {x}); p{n}_ = rstap_map_sref(CB, {m}, {kv}, {loc}); p{n}_ ? rstap_concat(p{n}_, p{n}_, {t}) : {t}; }})"
                ),
            };
        }
        let Some(op) = op else {
            return format!("({{ int64_t v{n}_ = {x}; rstap_map_set_long(CB, {m}, {kv}, v{n}_, {loc}); }})");
        };
        let p = format!("(*p{n}_)");
        let v = format!("v{n}_");
        let update = match op {
            BinaryOp::Div => format!("{p} = rstap_div(CB, {p}, {v}, {})", self.op_location(op, span, span.lo)),
            BinaryOp::Mod => format!("{p} = rstap_mod(CB, {p}, {v}, {})", self.op_location(op, span, span.lo)),
            BinaryOp::Shl => format!("{p} = rstap_shl({p}, {v})"),
            BinaryOp::Shr => format!("{p} = rstap_shr({p}, {v})"),
            BinaryOp::Add => format!("{p} += {v}"),
            BinaryOp::Sub => format!("{p} -= {v}"),
            BinaryOp::Mul => format!("{p} *= {v}"),
            BinaryOp::BitAnd => format!("{p} &= {v}"),
            BinaryOp::BitOr => format!("{p} |= {v}"),
            BinaryOp::BitXor => format!("{p} ^= {v}"),
            _ => format!("{p} = {v}"),
        };
        format!(
            "({{ int64_t v{n}_ = {x}; int64_t *p{n}_ = rstap_map_lref(CB, {m}, {kv}, {loc}); p{n}_ ? ({update}) : (int64_t)0; }})"
        )
    }

    pub(super) fn index_incdec(&mut self, global: usize, keys: &[Expr], increment: bool, prefix: bool, span: Span) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let loc = self.location(span);
        let n = self.fresh();
        let op = if increment { "++" } else { "--" };
        let update = if prefix { format!("{op}(*p{n}_)") } else { format!("(*p{n}_){op}") };
        format!("({{ int64_t *p{n}_ = rstap_map_lref(CB, {m}, {kv}, {loc}); p{n}_ ? ({update}) : (int64_t)0; }})")
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
        format!("rstap_pmap_add(CB, {m}, {kv}, {x}, {loc})")
    }

    pub(super) fn stat(&mut self, op: StatOp, global: usize, keys: &[Expr], span: Span) -> String {
        let m = self.map_ref(global);
        let missing = if keys.is_empty() { "empty aggregate" } else { "aggregate element not found" };
        let kv = self.kv(keys);
        let loc = self.location(span);
        let n = self.fresh();
        let st = format!("st{n}_");
        let value = match op {
            StatOp::Count => return format!("({{ struct rstap_stat *{st} = rstap_pmap_get({m}, {kv}); {st} ? {st}->count : (int64_t)0; }})"),
            StatOp::Sum => return format!("({{ struct rstap_stat *{st} = rstap_pmap_get({m}, {kv}); {st} ? {st}->sum : (int64_t)0; }})"),
            StatOp::Min => format!("{st}->min"),
            StatOp::Max => format!("{st}->max"),
            StatOp::Avg => format!("div64_s64({st}->sum, {st}->count)"),
            StatOp::Variance => format!("rstap_stat_variance(&rstap_hist_{}, {st})", self.prog.globals[global].name),
        };
        format!(
            "({{ struct rstap_stat *{st} = rstap_pmap_get({m}, {kv}); ({st} && {st}->count) ? {value} : (rstap_error(CB, \"{missing}\", {loc}), (int64_t)0); }})"
        )
    }

    pub(super) fn print_hist(&mut self, global: usize, keys: &[Expr], newline: bool) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let n = self.fresh();
        let name = &self.prog.globals[global].name;
        let nl = if newline { " rstap_print_str(CB, \"\\n\");" } else { "" };
        format!(
            "({{ struct rstap_stat *st{n}_ = rstap_pmap_get({m}, {kv}); if (likely(!CB->last_error)) {{ if (st{n}_) rstap_hist_print(CB, &rstap_hist_{name}, st{n}_);{nl} }} (int64_t)0; }})"
        )
    }

    pub(super) fn sprint_hist(&mut self, global: usize, keys: &[Expr], newline: bool) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let n = self.fresh();
        let t = self.temp(Type::String);
        let name = &self.prog.globals[global].name;
        format!(
            "({{ struct rstap_stat *st{n}_ = rstap_pmap_get({m}, {kv}); rstap_hist_sprint({t}, &rstap_hist_{name}, st{n}_, {}); {t}; }})",
            newline as u8
        )
    }

    pub(super) fn hist_bucket(&mut self, global: usize, keys: &[Expr], index: &Expr) -> String {
        let m = self.map_ref(global);
        let kv = self.kv(keys);
        let i = self.expr(index);
        let n = self.fresh();
        let name = &self.prog.globals[global].name;
        format!("({{ int64_t i{n}_ = {i}; struct rstap_stat *st{n}_ = rstap_pmap_get({m}, {kv}); rstap_hist_bucket(&rstap_hist_{name}, st{n}_, i{n}_); }})")
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
