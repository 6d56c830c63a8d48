//! Faults and the control layer.
