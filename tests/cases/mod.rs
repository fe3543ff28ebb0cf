//! Integration cases, one file per area.

mod auth;
pub mod backup;
mod bench_hostile;
mod completions;
mod config;
mod daily;
mod daily2;
mod devices;
mod discover;
mod exactness;
mod faults;
mod fleet;
mod foundation;
mod hostile;
pub mod playground;
mod profile;
mod read;
mod readme;
mod retained;
mod sensors;
mod tls;
mod top;
mod trust;
mod upgrade;
mod watch;
