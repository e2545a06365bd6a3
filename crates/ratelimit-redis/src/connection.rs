//! A connection to standalone Redis or to a Cluster, established on first use (so that a
//! gateway starts, and keeps serving under its failure modes, while Redis is down), and
//! replaced by a fresh, verified one when the recovery task finds Redis back.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, ScriptInvocation};

use crate::error::StoreError;
use crate::settings::{node_url, RedisTarget};

#[derive(Clone)]
pub(crate) enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    pub async fn invoke<T: FromRedisValue>(
        &mut self,
        invocation: &ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        match self {
            Connection::Standalone(connection) => invocation.invoke_async(connection).await,
            Connection::Cluster(connection) => invocation.invoke_async(connection).await,
        }
    }
}

enum Client {
    Standalone(redis::Client),
    Cluster(Box<ClusterClient>),
}

pub(crate) struct Connector {
    client: Client,
    timeout: Duration,
    /// The connection requests use. A read lock and an `Arc` clone per call: the lock is
    /// written only when a connection is made or replaced.
    current: RwLock<Option<Connection>>,
    /// Serialises the first, lazy connection so that concurrent first calls make one.
    connecting: tokio::sync::Mutex<()>,
}

impl Connector {
    pub fn new(target: &RedisTarget, timeout: Duration) -> Result<Self, StoreError> {
        let client = match target {
            RedisTarget::Standalone(url) => Client::Standalone(
                redis::Client::open(url.as_str())
                    .map_err(|error| StoreError::Settings(format!("redis.url `{url}`: {error}")))?,
            ),
            RedisTarget::Cluster(nodes) => {
                if nodes.is_empty() {
                    return Err(StoreError::Settings(
                        "redis.clusterNodes is empty: list at least one host:port".into(),
                    ));
                }
                let urls: Vec<String> = nodes.iter().map(|node| node_url(node)).collect();
                Client::Cluster(Box::new(
                    ClusterClient::builder(urls)
                        .connection_timeout(timeout)
                        .response_timeout(timeout)
                        .retries(0)
                        .build()
                        .map_err(|error| {
                            StoreError::Settings(format!("redis.clusterNodes {nodes:?}: {error}"))
                        })?,
                ))
            }
        };
        Ok(Connector {
            client,
            timeout,
            current: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    /// The connection, established now if it is not yet (the caller bounds the wait).
    pub async fn get(&self) -> Result<Connection, StoreError> {
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let connection = self.connect_first().await?;
        self.replace(connection.clone());
        Ok(connection)
    }

    /// Connects now unless a connection is installed: a standalone connection is established
    /// here, not lazily by its first call (the start-up warm-up).
    pub async fn establish(&self) -> Result<(), StoreError> {
        let _connecting = self.connecting.lock().await;
        if self.current().is_some() {
            return Ok(());
        }
        let connection = self.connect_eagerly(1).await?;
        self.replace(connection);
        Ok(())
    }

    /// A new connection, made now and answering `PING`, installed in place of the current
    /// one. The recovery task's probe: it never touches the connection that failed (whose
    /// first call after an outage would fail again on the dead socket).
    pub async fn reconnect(&self) -> Result<(), StoreError> {
        let mut connection = self.connect_eagerly(0).await?;
        let pong: String = match &mut connection {
            Connection::Standalone(manager) => redis::cmd("PING").query_async(manager).await?,
            Connection::Cluster(cluster) => redis::cmd("PING").query_async(cluster).await?,
        };
        if pong != "PONG" {
            return Err(StoreError::Settings(format!(
                "redis answered PING with `{pong}`"
            )));
        }
        self.replace(connection);
        Ok(())
    }

    fn current(&self) -> Option<Connection> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, connection: Connection) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(connection);
    }

    /// `retries` are the manager's own reconnection attempts, which back off by 100 ms and
    /// more: none for a probe's connection, which must fail or succeed at once (the recovery
    /// task is the retry loop).
    fn manager_config(&self, retries: usize) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(retries)
    }

    /// A standalone manager connects lazily and reconnects by itself after a failure, each
    /// attempt bounded like every other call; a Cluster connection has to learn the slot map
    /// now.
    async fn connect_first(&self) -> Result<Connection, StoreError> {
        match &self.client {
            Client::Standalone(client) => Ok(Connection::Standalone(
                ConnectionManager::new_lazy_with_config(client.clone(), self.manager_config(1))?,
            )),
            Client::Cluster(_) => self.connect_eagerly(0).await,
        }
    }

    /// A connection made now; `retries` as for [`Self::manager_config`] (standalone only).
    async fn connect_eagerly(&self, retries: usize) -> Result<Connection, StoreError> {
        match &self.client {
            Client::Standalone(client) => Ok(Connection::Standalone(
                ConnectionManager::new_with_config(client.clone(), self.manager_config(retries))
                    .await?,
            )),
            Client::Cluster(client) => {
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
        }
    }
}
