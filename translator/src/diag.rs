//! Source files, spans and collected diagnostics.
//!
//! Input: the text of every file a pass reads (registered in a `SourceMap`).
//! Output: `Diagnostic`s collected in `Diagnostics`, rendered like rustc by
//! `render`. Invariants: a `Span` always names a file of the `SourceMap` it
//! was made with; a pass never panics on bad input, it pushes an error here
//! and returns `None`. The process-wide [`WarningPolicy`] (`-w`, `-W`) is
//! applied when a warning is pushed: dropped, or turned into an error, so
//! `has_errors` and every pass see the same thing the user is shown.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};
use std::sync::atomic::{AtomicU8, Ordering};

/// What happens to warnings (`stap -w` / `-W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningPolicy {
    /// Shown (the default).
    Show,
    /// `-w`: not shown at all.
    Suppress,
    /// `-W`: every warning is an error.
    Error,
}

static WARNING_POLICY: AtomicU8 = AtomicU8::new(0);

/// Sets the policy for every `Diagnostics` of this process (the `stap`
/// binary sets it once, from its flags).
pub fn set_warning_policy(p: WarningPolicy) {
    let v = match p {
        WarningPolicy::Show => 0,
        WarningPolicy::Suppress => 1,
        WarningPolicy::Error => 2,
    };
    WARNING_POLICY.store(v, Ordering::Relaxed);
}

pub fn warning_policy() -> WarningPolicy {
    match WARNING_POLICY.load(Ordering::Relaxed) {
        1 => WarningPolicy::Suppress,
        2 => WarningPolicy::Error,
        _ => WarningPolicy::Show,
    }
}

/// Byte range in one source file. `ctx` names the macro or alias expansion
/// the text came through (0: none), an index into `SourceMap::expansions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: u32,
    pub lo: u32,
    pub hi: u32,
    pub ctx: u32,
}

impl Span {
    pub fn new(file: u32, lo: usize, hi: usize) -> Span {
        Span {
            file,
            lo: lo as u32,
            hi: hi as u32,
            ctx: 0,
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
            ctx: self.ctx,
        }
    }
}

/// One step of an expansion chain: "in expansion of macro `foo`" at `site`.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub what: String,
    pub site: Span,
    /// The expansion this one is nested in (0: none).
    pub parent: u32,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// A library (tapset) file: may hold embedded C without `-g`, may be
    /// empty after preprocessing (see `SourceMap::add_library`).
    pub library: bool,
    /// Byte offsets of the line starts, computed on first use (`line_col`
    /// runs once per generated statement: it must not rescan the text).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

/// Every file read so far, plus the expansion contexts spans refer to.
#[derive(Debug, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
    /// Index 0 is a placeholder so that `ctx == 0` means "no expansion".
    pub expansions: Vec<Expansion>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap {
            files: Vec::new(),
            expansions: vec![Expansion {
                what: String::new(),
                site: Span::default(),
                parent: 0,
            }],
        }
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> u32 {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            library: false,
            line_starts: std::sync::OnceLock::new(),
        });
        (self.files.len() - 1) as u32
    }

    /// [`SourceMap::add`] for a tapset library file: pass 1 holds it to
    /// the rules of SystemTap's privileged library files (embedded C
    /// without `-g`; nothing left after preprocessing is fine).
    pub fn add_library(&mut self, name: impl Into<String>, text: impl Into<String>) -> u32 {
        let id = self.add(name, text);
        self.files[id as usize].library = true;
        id
    }

    pub fn add_expansion(&mut self, what: impl Into<String>, site: Span) -> u32 {
        self.expansions.push(Expansion {
            what: what.into(),
            site,
            parent: site.ctx,
        });
        (self.expansions.len() - 1) as u32
    }

    pub fn text(&self, file: u32) -> &str {
        &self.files[file as usize].text
    }

    pub fn name(&self, file: u32) -> &str {
        &self.files[file as usize].name
    }

    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let text = self.text(span.file);
        let lo = (span.lo as usize).min(text.len());
        let hi = (span.hi as usize).clamp(lo, text.len());
        text.get(lo..hi).unwrap_or("")
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, file: u32, offset: u32) -> (usize, usize) {
        let f = &self.files[file as usize];
        let offset = (offset as usize).min(f.text.len());
        let starts = f.line_starts.get_or_init(|| {
            std::iter::once(0).chain(f.text.match_indices('\n').map(|(i, _)| i + 1)).collect()
        });
        // The last line start at or before offset.
        let line = starts.partition_point(|&s| s <= offset);
        (line, offset - starts[line - 1] + 1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    /// Secondary places: "first used as a string here".
    pub labels: Vec<(Span, String)>,
    /// Free text shown after the source excerpt: "help: install ...".
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Option<Span>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span)
        }
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push((span, text.into()));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}

/// The errors and warnings of a whole run, in the order they were found,
/// each once.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds `d`, under the process's [`WarningPolicy`].
    pub fn push(&mut self, mut d: Diagnostic) {
        if d.severity == Severity::Warning {
            match warning_policy() {
                WarningPolicy::Show => {}
                WarningPolicy::Suppress => return,
                WarningPolicy::Error => {
                    d.severity = Severity::Error;
                    d.notes.push("warnings are errors (-W)".into());
                }
            }
        }
        // The points of one probe elaborate one body each: the same
        // mistake in it is reported once.
        if !self.list.contains(&d) {
            self.list.push(d);
        }
    }

    pub fn error(&mut self, message: impl Into<String>, span: Span) {
        self.push(Diagnostic::error(message, Some(span)));
    }

    pub fn warning(&mut self, message: impl Into<String>, span: Span) {
        self.push(Diagnostic::warning(message, Some(span)));
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Renders every diagnostic like rustc, without colour, into a string.
pub fn render(sources: &SourceMap, diags: &Diagnostics) -> String {
    let mut files = SimpleFiles::new();
    for f in &sources.files {
        files.add(f.name.clone(), f.text.clone());
    }
    let mut out = termcolor::NoColor::new(Vec::new());
    let config = term::Config::default();
    for d in &diags.list {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_message(d.message.clone());
        let mut labels = Vec::new();
        let mut notes = d.notes.clone();
        if let Some(span) = d.span {
            labels.push(Label::primary(span.file as usize, span.lo as usize..span.hi as usize));
            let mut ctx = span.ctx;
            // Walk the expansion chain: each step gets a secondary label.
            let mut guard = 0;
            while ctx != 0 && (ctx as usize) < sources.expansions.len() && guard < 64 {
                let e = &sources.expansions[ctx as usize];
                labels.push(
                    Label::secondary(e.site.file as usize, e.site.lo as usize..e.site.hi as usize)
                        .with_message(format!("in expansion of {}", e.what)),
                );
                ctx = e.parent;
                guard += 1;
            }
        } else if notes.is_empty() && d.labels.is_empty() {
            notes = Vec::new();
        }
        for (span, text) in &d.labels {
            labels.push(
                Label::secondary(span.file as usize, span.lo as usize..span.hi as usize)
                    .with_message(text.clone()),
            );
        }
        cs = cs.with_labels(labels).with_notes(notes);
        // Rendering only fails on a span outside its file, which is our bug;
        // fall back to the bare message rather than losing the error.
        if term::emit(&mut out, &config, &files, &cs).is_err() {
            let _ = std::io::Write::write_all(
                &mut out,
                format!("error: {}\n", d.message).as_bytes(),
            );
        }
    }
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}
