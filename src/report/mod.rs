//! The report model and its renderers. Renderers only read a `Report` (or an
//! `Explanation`) and write to the given writer: no verdicts, no look-ups, no other I/O.

pub mod batch;
pub mod json;
pub mod model;
pub mod nagios;
pub mod paths;
pub mod prometheus;
pub mod text;
