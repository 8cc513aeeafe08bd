//! codegen (to be written).
