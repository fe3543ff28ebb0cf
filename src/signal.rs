//! Ctrl-C (and SIGTERM, SIGHUP), heard once for the whole run, remembered, and never ignored.
//!
//! The handler runs on its own thread (the `ctrlc` crate), not on the runtime: a command whose
//! one thread is blocked (a full stdout pipe, a stalled broker) still hears it. The handler
//! records the fact in a watch channel that every wait of the run selects on, then gives the
//! command a grace period to print what it has and leave cleanly; a command still running after
//! that is ended with its interrupt exit code.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::error;

static INTERRUPTED: OnceLock<watch::Receiver<bool>> = OnceLock::new();
/// The same fact, for a cheap look from a busy loop.
static PRESSED: AtomicBool = AtomicBool::new(false);
/// The exit code when the grace period runs out: 130, or 0 for `watch`.
static EXIT_CODE: AtomicU8 = AtomicU8::new(error::INTERRUPTED);
/// How long a command may take to finish after Ctrl-C, in milliseconds.
static GRACE_MS: AtomicU64 = AtomicU64::new(900);
/// What must happen even when the grace period runs out (giving the terminal back).
static BEFORE_EXIT: std::sync::Mutex<Vec<fn()>> = std::sync::Mutex::new(Vec::new());

/// Starts listening (once; later calls do nothing).
pub fn listen() {
    INTERRUPTED.get_or_init(|| {
        let (tx, rx) = watch::channel(false);
        // Without signal handling (the handler is dropped with `tx`), `interrupted` never ends.
        let _ = ctrlc::set_handler(move || {
            PRESSED.store(true, Ordering::Relaxed);
            let _ = tx.send(true);
            std::thread::sleep(Duration::from_millis(GRACE_MS.load(Ordering::Relaxed)));
            if let Ok(restores) = BEFORE_EXIT.lock() {
                for restore in restores.iter() {
                    restore();
                }
            }
            std::process::exit(i32::from(EXIT_CODE.load(Ordering::Relaxed)));
        });
        rx
    });
}

/// What a run that Ctrl-C interrupts ends with, and how long it may take to get there.
pub fn on_interrupt(exit_code: u8, grace: Duration) {
    EXIT_CODE.store(exit_code, Ordering::Relaxed);
    GRACE_MS.store(grace.as_millis() as u64, Ordering::Relaxed);
}

/// Runs `restore` before a forced exit (when a command outlives its grace period).
pub fn before_forced_exit(restore: fn()) {
    if let Ok(mut restores) = BEFORE_EXIT.lock()
        && !restores.contains(&restore)
    {
        restores.push(restore);
    }
}

/// Has Ctrl-C been pressed?
pub fn is_interrupted() -> bool {
    PRESSED.load(Ordering::Relaxed)
}

/// Completes once Ctrl-C has been pressed (at once if it already was); never without `listen`.
pub async fn interrupted() {
    match INTERRUPTED.get() {
        Some(rx) => {
            let mut rx = rx.clone();
            if rx.wait_for(|&pressed| pressed).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}
