//! Integration cases, one file per area.

mod auth;
mod backup;
mod completions;
mod daily;
mod devices;
mod discover;
mod faults;
mod fleet;
mod foundation;
mod playground;
mod profile;
mod read;
mod retained;
mod tls;
mod top;
mod trust;
mod upgrade;
mod watch;
