//! The answer to one pre-trade check.

use super::RiskReason;

#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    pub reason: RiskReason,
    pub message: String,
    /// The limit that was hit and the value that hit it, when there is one.
    pub limit: Option<f64>,
    pub value: Option<f64>,
}

impl Denial {
    pub fn new(reason: RiskReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            limit: None,
            value: None,
        }
    }

    pub fn with(mut self, limit: f64, value: f64) -> Self {
        self.limit = Some(limit);
        self.value = Some(value);
        self
    }
}

/// `Ok(())` accepted; `Err(denial)` refused, with a typed reason.
pub type RiskVerdict = Result<(), Denial>;
