//! The checks of a configuration run off the async runtime, and the memory they (and reads of
//! whole versions) free goes back to the operating system.
//!
//! Parsing, validating and compiling a 10,000-route configuration takes a few hundred
//! milliseconds of CPU: on a runtime worker that would stall the long-polls and heartbeats
//! sharing it. Its transient trees (JSON values, the model, the compiled snapshot) peak at
//! tens of MiB, which the allocator keeps mapped after they are freed, so a replica's idle RSS
//! would grow to the largest push it ever checked; trimming after each check returns them.

use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Runs `check` on tokio's blocking pool, then returns the allocator's free pages. Whatever
/// `check` captured is dropped before the trim.
pub async fn checked_off_runtime<T, F>(check: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let outcome = check();
        release_freed_memory();
        outcome
    })
    .await
    .map_err(|error| ApiError::internal(format!("the configuration check failed: {error}")))
}

/// `answer` as a response, then the allocator's free pages returned in the background: for
/// reads that parse a whole stored version (its JSON value is freed once the body is written).
pub fn respond_then_release(answer: impl IntoResponse) -> Response {
    let response = answer.into_response();
    tokio::task::spawn_blocking(release_freed_memory);
    response
}

/// Return free allocator pages to the OS (glibc `malloc_trim`); a no-op elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: `malloc_trim` has no preconditions: it only releases free pages of the
    // allocator's arenas and never touches live allocations.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Return free allocator pages to the OS; a no-op where the allocator does not support it.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}
