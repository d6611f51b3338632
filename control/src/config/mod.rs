//! Configuration: the model, its two readers (TOML and keepalived.conf) and validation.

pub mod model;
pub mod validate;

pub use model::*;
pub use validate::{ValidationError, validate};
