//! elaborate (to be written).
