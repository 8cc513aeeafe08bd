//! probes (to be written).
