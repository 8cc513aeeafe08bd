//! Orders the passes (to be written).
