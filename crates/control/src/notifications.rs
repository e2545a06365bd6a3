//! How a replica learns of the other replicas' changes: PostgreSQL LISTEN on
//! `portcullis_config` (the payload names the environment), a full reload on every
//! (re)connection since notifications sent meanwhile are lost, and a periodic refresh of every
//! environment as the safety net (the only mechanism with SQLite, whose file one process owns).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::publication::Publisher;
use crate::store::postgres::CHANNEL;

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(2);

/// Listens for change notifications until shutdown, reconnecting with back-off.
pub fn spawn_listener(
    database_url: String,
    publisher: Arc<Publisher>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut retry = FIRST_RETRY;
        loop {
            let connected = tokio::select! {
                connected = connect(&database_url) => connected,
                () = crate::stopped(&mut shutdown) => return,
            };
            match connected {
                Ok(mut listener) => {
                    retry = FIRST_RETRY;
                    // Listening first, then reading everything: nothing committed after the
                    // LISTEN can be missed, and everything before it is in the reload.
                    if let Err(error) = publisher.reload_all().await {
                        tracing::warn!(%error, "reload after connecting the change listener failed");
                    }
                    tracing::info!("listening for config changes");
                    tokio::select! {
                        () = relay(&mut listener, &publisher) => {}
                        () = crate::stopped(&mut shutdown) => return,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_ms = retry.as_millis() as u64, "cannot listen for config changes; retrying");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(retry) => {}
                () = crate::stopped(&mut shutdown) => return,
            }
            retry = (retry * 2).min(LAST_RETRY);
        }
    })
}

async fn connect(database_url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Reloads the environment of each notification until the connection is lost.
async fn relay(listener: &mut PgListener, publisher: &Publisher) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Err(error) = publisher.reload(notification.payload()).await {
                    tracing::warn!(environment = notification.payload(), %error, "reload after a change notification failed");
                }
            }
            Ok(None) => {
                tracing::warn!("the change listener lost its connection; reconnecting");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "the change listener failed; reconnecting");
                return;
            }
        }
    }
}

/// Re-reads every environment every `interval` until shutdown.
pub fn spawn_refresh(
    interval: Duration,
    publisher: Arc<Publisher>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = publisher.reload_all().await {
                        tracing::warn!(%error, "periodic reload of the published versions failed");
                    }
                }
                () = crate::stopped(&mut shutdown) => return,
            }
        }
    })
}
