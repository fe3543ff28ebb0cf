//! Ctrl-C, heard once for the whole run and remembered.
//!
//! `tokio::signal::ctrl_c()` only reports signals that arrive after that very future was first
//! polled, so a Ctrl-C between two such futures would be lost. One listener, started before the
//! connection, keeps the fact in a watch channel that any later wait sees at once.

use std::sync::OnceLock;

use tokio::sync::watch;

static INTERRUPTED: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Starts listening (once; later calls do nothing). Call inside the runtime.
pub fn listen() {
    INTERRUPTED.get_or_init(|| {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(true);
            } else {
                std::future::pending::<()>().await; // no signals here: never interrupted
            }
        });
        rx
    });
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
