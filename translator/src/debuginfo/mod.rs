//! debuginfo (to be written).
