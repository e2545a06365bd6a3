//! A connection to standalone Redis or to a Cluster, established on first use (so that a
//! gateway starts, and keeps serving under its failure modes, while Redis is down).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, ScriptInvocation};
use tokio::sync::OnceCell;

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
    connection: OnceCell<Connection>,
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
            connection: OnceCell::new(),
        })
    }

    /// The connection, established now if it is not yet (the caller bounds the wait).
    pub async fn get(&self) -> Result<Connection, StoreError> {
        let connection = self.connection.get_or_try_init(|| self.connect()).await?;
        Ok(connection.clone())
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        match &self.client {
            Client::Standalone(client) => {
                // The manager connects lazily and reconnects by itself after a failure; each
                // of its attempts is bounded like every other call.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                Ok(Connection::Standalone(
                    ConnectionManager::new_lazy_with_config(client.clone(), config)?,
                ))
            }
            Client::Cluster(client) => {
                Ok(Connection::Cluster(client.get_async_connection().await?))
            }
        }
    }
}
