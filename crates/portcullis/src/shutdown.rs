//! SIGTERM/SIGINT → graceful shutdown; a second signal exits at once.

use std::future::Future;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Cloneable handle to "shutdown requested".
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// Install the signal handlers and return the handle plus a trigger for programmatic use.
    pub fn install() -> std::io::Result<(Shutdown, watch::Sender<bool>)> {
        let (trigger, requested) = watch::channel(false);
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let signal_trigger = trigger.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "shutting down: no new connections, draining in-flight requests"
            );
            let _ = signal_trigger.send(true);
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            tracing::warn!("second signal: exiting without waiting for the drain");
            std::process::exit(130);
        });
        Ok((Shutdown { requested }, trigger))
    }

    /// Resolves once shutdown is requested.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut requested = self.requested.clone();
        async move {
            // An error means every sender is gone: nobody can request shutdown any more, so
            // treat that as a request too rather than hanging.
            let _ = requested.wait_for(|requested| *requested).await;
        }
    }
}
