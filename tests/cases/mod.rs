//! Integration cases, one file per area.

mod completions;
mod foundation;
mod profile;
