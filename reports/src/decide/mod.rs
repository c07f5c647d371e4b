//! Taking a decision from a sweep: paired comparisons of options on the
//! same seeds ([`paired`]), the decision matrix ([`matrix`]; its words
//! and tables in `render.rs`), and the
//! ranking of options across several scenarios ([`robust`]).

pub mod matrix;
pub mod paired;
mod render;
pub mod robust;
