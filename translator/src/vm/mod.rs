//! vm (to be written).
