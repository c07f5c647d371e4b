//! Errors in policy configuration.

use std::fmt;

/// A configuration value a policy cannot accept: which key and why.
///
/// `key` is the JSON key inside the policy's own block (`window`,
/// `choiceCount`); the caller prefixes the block's path
/// (`deployment.loadBalancing.window`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    /// An error at `key`.
    pub fn new(key: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            key,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}
