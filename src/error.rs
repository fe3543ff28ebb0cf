//! The few typed errors that choose an exit code, and the mapping from any error to one.
//!
//! Everything else is an `anyhow::Error` and exits 1. A silent or rejecting device is not an
//! error at all: it is part of a report, and the report picks 4 or 5.

use std::fmt;

pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const BROKER: u8 = 3;
pub const NO_ANSWER: u8 = 4;
pub const REJECTED: u8 = 5;
/// `config diff`: a device differs from what the profile asks (every device answered).
pub const DRIFT: u8 = 6;
pub const INTERRUPTED: u8 = 130;

/// The broker could not be reached, refused us, timed out, or TLS failed: exit 3.
#[derive(Debug)]
pub struct BrokerError(pub String);

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrokerError {}

/// Ctrl-C ended a command that is not meant to run until interrupted: exit 130.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A closed stdout (`tasctl watch | head`) is how a pipeline says "enough": not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error that ended the run.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<BrokerError>()) {
        BROKER
    } else if err.chain().any(|e| e.is::<Interrupted>()) {
        INTERRUPTED
    } else {
        FAILURE
    }
}
