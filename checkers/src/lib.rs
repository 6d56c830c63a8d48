//! Pure history analysis.
