//! Pure controllers (being written).
