//! Starting and stopping a control plane: connect the store (migrations run), create the
//! configured environments, make the first admin token when none is usable, publish every
//! environment's ACTIVE version, start the change listener and the refresh, and serve the API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::bootstrap::{self, SYSTEM_ACTOR};
use crate::error::ControlError;
use crate::names;
use crate::notifications;
use crate::publication::Publisher;
use crate::service::ControlService;
use crate::settings::Settings;
use crate::store::{Backend, Store};

/// Starts control planes.
#[derive(Debug)]
pub struct ControlPlane;

/// A control plane serving on its listener until [`RunningControlPlane::shutdown`].
#[derive(Debug)]
pub struct RunningControlPlane {
    local_addr: SocketAddr,
    store: Store,
    publisher: Arc<Publisher>,
    admin_token_path: PathBuf,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl ControlPlane {
    pub async fn start(settings: Settings) -> Result<RunningControlPlane, ControlError> {
        for environment in &settings.environments {
            names::check_environment(environment).map_err(|reason| ControlError::Environment {
                name: environment.clone(),
                reason,
            })?;
        }
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| ControlError::DataDir {
            path: settings.data_dir.display().to_string(),
            source,
        })?;
        let store = Store::connect(&settings.database_url).await?;
        for environment in &settings.environments {
            if store.ensure_environment(environment, SYSTEM_ACTOR).await? {
                tracing::info!(environment = %environment, "created environment");
            }
        }
        let admin_token_path = settings.admin_token_path();
        bootstrap::ensure_admin_token(&store, &admin_token_path).await?;

        let publisher = Arc::new(Publisher::new(store.clone()));
        publisher.reload_all().await?;
        let (stop, stopped) = watch::channel(false);
        let mut background = vec![notifications::spawn_refresh(
            settings.refresh_interval,
            publisher.clone(),
            stopped.clone(),
        )];
        if store.backend() == Backend::Postgres {
            background.push(notifications::spawn_listener(
                settings.database_url.clone(),
                publisher.clone(),
                stopped.clone(),
            ));
        }

        let service = Arc::new(ControlService::new(
            store.clone(),
            publisher.clone(),
            settings.heartbeat_interval,
        ));
        let state = AppState::new(service, settings.long_poll, stopped.clone());
        let (router, _openapi) = api::router(state);
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ControlError::Bind {
                address: settings.listen.to_string(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ControlError::Bind {
            address: settings.listen.to_string(),
            source,
        })?;
        let mut graceful = stopped;
        // `into_make_service` resolves the routes once; serving the `Router` itself would
        // rebuild its route table for every connection (about 12 KiB each, kept for the life
        // of the connection: a held long-poll's largest cost after hyper's buffers).
        let service = router.into_make_service();
        let server = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move { crate::stopped(&mut graceful).await })
                .await
        });
        tracing::debug!(addr = %local_addr, "admin API bound");
        Ok(RunningControlPlane {
            local_addr,
            store,
            publisher,
            admin_token_path,
            stop,
            server,
            background,
        })
    }
}

impl RunningControlPlane {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the first admin token was written (the file may predate this start).
    pub fn admin_token_path(&self) -> &std::path::Path {
        &self.admin_token_path
    }

    /// The store, for tests that look at the database directly.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// What this replica publishes (and how many long-polls wait on it).
    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }

    /// Serves until `signal` resolves (or the server fails), then shuts down.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), ControlError> {
        let failed = tokio::select! {
            () = signal => None,
            outcome = &mut self.server => Some(outcome),
        };
        match failed {
            None => self.shutdown().await,
            Some(outcome) => {
                let _ = self.stop.send(true);
                self.finish_background().await;
                match outcome {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => Err(ControlError::Serve(error)),
                    Err(join) => Err(ControlError::Serve(std::io::Error::other(join))),
                }
            }
        }
    }

    /// Stops accepting, answers held long-polls (304), finishes in-flight requests, stops
    /// the listener and the refresh, and closes the store.
    pub async fn shutdown(self) -> Result<(), ControlError> {
        let _ = self.stop.send(true);
        let served = self.server.await;
        let RunningControlPlane {
            store, background, ..
        } = self;
        for task in background {
            let _ = task.await;
        }
        store.close().await;
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ControlError::Serve(error)),
            Err(join) => Err(ControlError::Serve(std::io::Error::other(join))),
        }
    }

    async fn finish_background(self) {
        for task in self.background {
            let _ = task.await;
        }
        self.store.close().await;
    }
}
