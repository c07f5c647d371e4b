//! Taking a decision from a sweep: paired comparisons of options on the
//! same seeds ([`paired`]) and the decision matrix ([`matrix`]).

pub mod matrix;
pub mod paired;
