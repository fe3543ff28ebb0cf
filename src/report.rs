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
    /// `false` for a device that answered on a group topic without being one of the group's
    /// members: reported, never counted in the exit code (`"member": false` in JSON).
    #[serde(skip_serializing_if = "is_member")]
    pub member: bool,
    #[serde(skip)]
    pub verdict: Verdict,
}

fn is_member(member: &bool) -> bool {
    *member
}

impl<T: Serialize> DeviceResult<T> {
    /// The profile name, else the topic: how people know the device.
    pub fn label(&self) -> &str {
        self.device.as_deref().unwrap_or(&self.topic)
    }

    /// The label for a table row (the table escapes it), marked when it is not a member.
    pub fn table_label(&self) -> String {
        if self.member {
            self.label().to_string()
        } else {
            format!("{} (not a member)", self.label())
        }
    }
}

/// The line that separates a group's members from the devices that also answered on its
/// group topic (they come last in every report).
pub const NOT_MEMBERS: &str = "also answered (not a member):";

/// Writes `row` for each row, members first, then the other devices under `NOT_MEMBERS`.
pub fn members_then_others<T: Serialize>(
    f: &mut std::fmt::Formatter<'_>,
    rows: &[DeviceResult<T>],
    mut row: impl FnMut(&mut std::fmt::Formatter<'_>, &DeviceResult<T>) -> std::fmt::Result,
) -> std::fmt::Result {
    for r in rows.iter().filter(|r| r.member) {
        row(f, r)?;
    }
    let mut others = rows.iter().filter(|r| !r.member).peekable();
    if others.peek().is_some() {
        use colored::Colorize;
        writeln!(f, "{}", NOT_MEMBERS.dimmed())?;
    }
    for r in others {
        row(f, r)?;
    }
    Ok(())
}

/// The rows of one command, in the order the targets were given.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Results<T: Serialize>(pub Vec<DeviceResult<T>>);

impl<T: Serialize> Results<T> {
    /// The highest of the members' codes.
    pub fn exit_code(&self) -> u8 {
        self.0
            .iter()
            .filter(|r| r.member)
            .map(|r| r.verdict.exit_code())
            .max()
            .unwrap_or(error::OK)
    }
}
