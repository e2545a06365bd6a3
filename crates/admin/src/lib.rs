//! The data plane admin listener (owned by the binary helper).
