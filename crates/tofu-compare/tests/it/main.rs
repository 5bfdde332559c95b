//! compare and status as a library user sees them.

mod properties;
