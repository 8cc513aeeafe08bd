//! Placeholder until the pretty-printer lands.
use super::ast;
pub fn print_file(file: &ast::File) -> String {
    format!("{:#?}\n", file.items.len())
}
