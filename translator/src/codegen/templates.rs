//! The fixed C of a module: every tera template of `templates/`,
//! compiled into the binary and parsed once.
//!
//! Input: a template name and the values it needs (names, numbers, C
//! expressions, and C already rendered for nested statements). Output: the
//! rendered C. Invariants: autoescape is off (the output is C, not HTML);
//! user strings reach templates only through the `cstr`, `cfmt` and
//! `ccomment` filters of `c_text`; a template that fails to render is an
//! internal error of rstap, never caused by a script.

use std::sync::OnceLock;

use tera::{Context, Tera};

/// (name, text) of every template.
const TEMPLATES: &[(&str, &str)] = &[
    ("module.c", include_str!("../../../templates/module.c.tera")),
    ("Kbuild", include_str!("../../../templates/Kbuild.tera")),
    ("kprobe.c", include_str!("../../../templates/probes/kprobe.c.tera")),
    ("timer.c", include_str!("../../../templates/probes/timer.c.tera")),
    ("tracepoint.c", include_str!("../../../templates/probes/tracepoint.c.tera")),
    ("lines.c", include_str!("../../../templates/lines.c.tera")),
    ("expr/store.c", include_str!("../../../templates/expr/store.c.tera")),
    ("expr/target.c", include_str!("../../../templates/expr/target.c.tera")),
    ("stmt/if.c", include_str!("../../../templates/stmt/if.c.tera")),
    ("stmt/while.c", include_str!("../../../templates/stmt/while.c.tera")),
    ("stmt/for.c", include_str!("../../../templates/stmt/for.c.tera")),
    ("stmt/foreach.c", include_str!("../../../templates/stmt/foreach.c.tera")),
    ("stmt/try.c", include_str!("../../../templates/stmt/try.c.tera")),
    ("stmt/embedded.c", include_str!("../../../templates/stmt/embedded.c.tera")),
    ("stmt/return.c", include_str!("../../../templates/stmt/return.c.tera")),
    ("expr/call.c", include_str!("../../../templates/expr/call.c.tera")),
    ("expr/format.c", include_str!("../../../templates/expr/format.c.tera")),
    ("expr/regex.c", include_str!("../../../templates/expr/regex.c.tera")),
    ("regex.c", include_str!("../../../templates/regex.c.tera")),
];

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.autoescape_on(vec![]);
        super::c_text::register_filters(&mut t);
        t.add_raw_templates(TEMPLATES.iter().chain(super::hooks::TEMPLATES).copied())
            .unwrap_or_else(|e| panic!("internal error in rstap's templates: {e:?}"));
        t
    })
}

/// Renders template `name` with `ctx`.
pub fn render(name: &str, ctx: &Context) -> Result<String, String> {
    tera().render(name, ctx).map_err(|e| format!("internal error rendering template {name}: {e:?}"))
}

/// Renders a statement template; its values come from the IR and rstap's
/// own code, so a failure is a bug in rstap.
pub fn render_stmt(name: &str, ctx: &Context) -> String {
    render(name, ctx).unwrap_or_else(|e| panic!("{e}"))
}

/// A context from `(key, value)` pairs of strings (most statement
/// templates need nothing else).
pub fn ctx(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::new();
    for (k, v) in pairs {
        c.insert(*k, v);
    }
    c
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        assert_eq!(super::tera().get_template_names().count(), super::TEMPLATES.len() + super::super::hooks::TEMPLATES.len());
    }
}
