//! End-to-end tests: each starts the real `portcullis` binary on port-0 listeners with a
//! temporary configuration file and mock upstreams on loopback. The `cp_*` tests run a fleet
//! (`fleet/`: control-plane processes on SQLite or PostgreSQL, data planes, the operators'
//! CLI); `walkthrough` runs the documented walkthrough, which uses fixed loopback ports.

mod access_log;
mod build_refusals;
mod control_plane;
mod cp_catch_up;
mod cp_cli;
mod cp_outage;
mod cp_refusal;
mod cp_store_restart;
mod example_upstreams;
mod fleet;
mod harness;
mod hot_reload;
mod large_bodies;
mod rate_limits;
mod serve_basics;
mod shutdown_drain;
mod upstream;
mod validate_command;
mod walkthrough;
