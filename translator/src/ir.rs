//! The elaborated program (to be written).
