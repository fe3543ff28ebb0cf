//! The one integration-test binary: every case drives the built `tasctl` against a real
//! mosquitto started for it (see `support`).

mod cases;
mod support;
