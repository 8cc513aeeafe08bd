//! tapset (to be written).
