//! The Portcullis control plane: configuration versions in PostgreSQL (or SQLite, the
//! embedded default), their lifecycle (push → DRAFT → VALIDATED → ACTIVE, rollback), the
//! operators' admin API with its OpenAPI document, snapshot publication to data planes
//! (long-poll, LISTEN/NOTIFY across replicas), the instance registry and the audit log.
//!
//! The data plane never links this crate: it speaks to it over HTTP with the wire types of
//! `portcullis-protocol`.
//!
//! Modules: [`settings`] and [`server`] (start and stop), [`store`] (SQL for both backends),
//! [`lifecycle`] (the pure decisions), [`validation`] (every call into the config, router and
//! policy crates), [`service`] (the operations the API calls; configuration checks run off the runtime), [`publication`] (what data
//! planes are served), [`api`] (axum handlers and OpenAPI), [`diff`], [`tokens`], [`names`].

pub mod api;
pub mod bootstrap;
pub mod diff;
pub mod error;
pub mod lifecycle;
pub mod names;
mod notifications;
mod offload;
pub mod publication;
pub mod server;
pub mod service;
pub mod settings;
pub mod store;
pub mod tokens;
pub mod validation;

pub use error::{ApiError, ControlError};
pub use server::{ControlPlane, RunningControlPlane};
pub use settings::Settings;

/// Resolves once `stop` turns true (or its sender is gone: nobody can stop us any more, so
/// that counts as stopping). Drops the watch's read guard before returning.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
