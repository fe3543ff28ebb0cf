//! Integration cases, one file per area.

mod completions;
mod devices;
mod foundation;
mod profile;
mod watch;
