//! Taking a decision from a sweep: paired comparisons of options on the
//! same seeds ([`paired`]), how options are scored against a baseline
//! ([`score`]), the decision matrix ([`matrix`]; its words and tables in
//! `render.rs`), and the
//! ranking of options across several scenarios ([`robust`]).

pub mod matrix;
pub mod paired;
mod render;
pub mod robust;
pub mod score;
