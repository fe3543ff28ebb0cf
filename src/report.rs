//! Per-device rows, the shape every fleet command reports in, and the exit code they add up to.
//!
//! A row is the contract's `{"device", "topic", "ok", <the command's fields>, "error"?}`; a
//! silent or refusing device is a row, not an error, and the rows pick the exit code: the
//! highest of 0 (answered), 1 (a local failure), 4 (silent), 5 (refused), 130 (interrupted).

use serde::Serialize;

use crate::error;

/// Why a device is not ok, or that it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Ok,
    /// No (complete) answer within the wait.
    Silent,
    /// The device answered that it refused.
    Rejected,
    /// Ctrl-C came first.
    Interrupted,
    /// A local failure for this device (its file could not be written, its input is wrong).
    Failed,
    /// Deliberately not done (the canaries of an upgrade failed): the reason decides the code.
    Skipped,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => error::OK,
            Verdict::Silent => error::NO_ANSWER,
            Verdict::Rejected => error::REJECTED,
            Verdict::Interrupted => error::INTERRUPTED,
            Verdict::Failed => error::FAILURE,
            Verdict::Skipped => error::OK,
        }
    }
}

/// One row of a report.
#[derive(Debug, Serialize)]
pub struct DeviceResult<T: Serialize> {
    pub device: Option<String>,
    pub topic: String,
    pub ok: bool,
    #[serde(flatten)]
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub verdict: Verdict,
}

impl<T: Serialize> DeviceResult<T> {
    /// The profile name, else the topic: how people know the device.
    pub fn label(&self) -> &str {
        self.device.as_deref().unwrap_or(&self.topic)
    }
}

/// The rows of one command, in the order the targets were given.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Results<T: Serialize>(pub Vec<DeviceResult<T>>);

impl<T: Serialize> Results<T> {
    /// The highest of the rows' codes.
    pub fn exit_code(&self) -> u8 {
        self.0
            .iter()
            .map(|r| r.verdict.exit_code())
            .max()
            .unwrap_or(error::OK)
    }
}
