//! Per-listener connection series: connections open now, connections refused at accept
//! (over `maxConnections`), connections closed because the client stopped reading
//! (`writeTimeoutMs`), and HTTP/2 connections closed for cancelling most of their streams
//! (rapid reset).
//!
//! A listener's handle is resolved once when it binds; accepting or closing a connection
//! then costs one relaxed atomic add.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::text::{escape_into, family};

#[derive(Debug, Default)]
pub(super) struct ListenerRegistry {
    /// Taken when a listener binds and by `encode`, never per connection.
    listeners: Mutex<HashMap<Box<str>, Arc<ListenerCounters>>>,
}

#[derive(Debug, Default)]
struct ListenerCounters {
    open: AtomicI64,
    refused: AtomicU64,
    write_timeouts: AtomicU64,
    reset_floods: AtomicU64,
}

/// One listener's connection series. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ListenerMetrics {
    counters: Arc<ListenerCounters>,
}

impl ListenerRegistry {
    /// The handle for listener `name` (created on first use).
    pub(super) fn listener(&self, name: &str) -> ListenerMetrics {
        let mut listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let counters = listeners.entry(name.into()).or_default();
        ListenerMetrics {
            counters: Arc::clone(counters),
        }
    }
}

impl ListenerMetrics {
    /// Count a connection as open until the guard drops.
    pub fn track_open(&self) -> OpenConnection {
        self.counters.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection {
            counters: Arc::clone(&self.counters),
        }
    }

    pub fn refused(&self) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn write_timeout(&self) {
        self.counters.write_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset_flood(&self) {
        self.counters.reset_floods.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset_flood_count(&self) -> u64 {
        self.counters.reset_floods.load(Ordering::Relaxed)
    }

    pub fn open_count(&self) -> i64 {
        self.counters.open.load(Ordering::Relaxed)
    }

    pub fn refused_count(&self) -> u64 {
        self.counters.refused.load(Ordering::Relaxed)
    }

    pub fn write_timeout_count(&self) -> u64 {
        self.counters.write_timeouts.load(Ordering::Relaxed)
    }
}

/// One open connection; see [`ListenerMetrics::track_open`].
#[derive(Debug)]
pub struct OpenConnection {
    counters: Arc<ListenerCounters>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Listener name, open, refused, write timeouts, reset floods.
type Row = (Box<str>, i64, u64, u64, u64);
/// A family's name, type, help text and the value it reads from a row.
type Series = (&'static str, &'static str, &'static str, fn(&Row) -> i128);

pub(super) fn encode(registry: &ListenerRegistry, out: &mut String) {
    let mut listeners: Vec<Row> = registry
        .listeners
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(name, counters)| {
            (
                name.clone(),
                counters.open.load(Ordering::Relaxed),
                counters.refused.load(Ordering::Relaxed),
                counters.write_timeouts.load(Ordering::Relaxed),
                counters.reset_floods.load(Ordering::Relaxed),
            )
        })
        .collect();
    listeners.sort();
    let series: [Series; 4] = [
        (
            "connections_open",
            "gauge",
            "Client connections open now, by listener.",
            |row| i128::from(row.1),
        ),
        (
            "connections_refused_total",
            "counter",
            "Connections closed at accept because the listener had maxConnections open.",
            |row| i128::from(row.2),
        ),
        (
            "connections_write_timeouts_total",
            "counter",
            "Connections closed because a response waited writeTimeoutMs on a client that read none of it.",
            |row| i128::from(row.3),
        ),
        (
            "connections_reset_floods_total",
            "counter",
            "HTTP/2 connections closed because the client cancelled most of its streams before their answer (rapid reset).",
            |row| i128::from(row.4),
        ),
    ];
    for (name, kind, help, value) in series {
        family(out, name, kind, help);
        for row in &listeners {
            let _ = write!(out, "portcullis_{name}{{listener=\"");
            escape_into(out, &row.0);
            let _ = writeln!(out, "\"}} {}", value(row));
        }
    }
}
