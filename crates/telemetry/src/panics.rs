//! Panics: counted and logged, process-wide.
//!
//! The release profile unwinds (see the workspace `Cargo.toml`), so a panic ends only the task
//! it happened in: one connection (HTTP/1) or one stream (HTTP/2), never the process. The hook
//! installed here makes each one visible: one `error` log record with the message and the
//! source location, and `portcullis_panics_total`. The count is process-wide because a panic
//! hook is.

use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static PANICS: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// Panics since the process started (`portcullis_panics_total`).
pub fn panic_count() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// Replaces the default hook (a line on stderr) with one that counts the panic and logs it
/// through `tracing`, so it lands in the structured log. Idempotent.
pub fn install_hook() {
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            PANICS.fetch_add(1, Ordering::Relaxed);
            let thread = std::thread::current();
            tracing::error!(
                panic = %message(info),
                location = %info.location().map_or_else(String::new, ToString::to_string),
                thread = thread.name().unwrap_or("unnamed"),
                "a task panicked: its connection or stream was closed, the gateway goes on serving"
            );
        }));
    });
}

fn message<'a>(info: &'a PanicHookInfo<'_>) -> &'a str {
    if let Some(text) = info.payload().downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = info.payload().downcast_ref::<String>() {
        text
    } else {
        "a panic with a non-text payload"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_counted() {
        install_hook();
        let before = panic_count();
        let outcome = std::panic::catch_unwind(|| panic!("boom"));
        assert!(outcome.is_err());
        assert!(panic_count() > before);
    }
}
