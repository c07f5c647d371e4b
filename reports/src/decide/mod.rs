//! Taking a decision from a sweep: paired comparisons of options on the
//! same seeds ([`paired`]), the decision matrix ([`matrix`]), and the
//! ranking of options across several scenarios ([`robust`]).

pub mod matrix;
pub mod paired;
pub mod robust;
