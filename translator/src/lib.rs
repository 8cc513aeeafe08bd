//! rstap: a SystemTap-compatible dynamic tracing tool.
//!
//! The passes live in their own modules (see ../shared/DESIGN.md):
//! `syntax` (1), `elaborate` (2), `codegen` (3), `build` (4), `run` (5), and
//! `driver` orders them. `vm` runs pass 5 inside a qemu guest.

pub mod build;
pub mod cache_dir;
pub mod codegen;
pub mod debuginfo;
pub mod diag;
pub mod driver;
pub mod driver_dwarf;
pub mod elaborate;
pub mod glob;
pub mod ir;
pub mod ir_target;
pub mod kconfig;
pub mod limits;
pub mod probes;
pub mod regex;
pub mod stdout;
pub mod run;
pub mod syntax;
pub mod tapset;
pub mod vm;
