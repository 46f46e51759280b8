//! [`Conn`]: the connection one store call uses, to a single Redis server or to a Redis
//! Cluster. Both carry every command the store sends (`redis::aio::ConnectionLike`), so the
//! store code is the same for both; the single-server path costs one `match` per command over
//! calling the connection manager directly (its futures are boxed either way).
//!
//! In cluster mode every key of a store hashes to one slot (see `keys.rs`), and the commands
//! that name no key but must reach the node holding the store's keys (`SCAN`, `WAIT`, `PING`)
//! go through [`Conn::query_store_node`], routed to that slot's master.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value};

/// A connection for one call. Cheap to clone (both variants are handles on shared
/// multiplexed connections).
#[derive(Clone)]
pub(crate) enum Conn {
    /// A single server (or a primary with replicas): the connection manager of `connections.rs`.
    Single(ConnectionManager),
    /// A Redis Cluster, with the route to the master of the store's slot.
    Cluster(ClusterConnection, Route),
}

impl Conn {
    /// Sends a command that names no key to the server holding the store's keys: the server
    /// itself, or in a cluster the master of the store's slot (the cluster client would
    /// otherwise send it to a random node, or to every master).
    pub(crate) async fn query_store_node<T: FromRedisValue>(&mut self, cmd: Cmd) -> RedisResult<T> {
        match self {
            Self::Single(conn) => cmd.query_async(conn).await,
            Self::Cluster(conn, route) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(*route));
                let value = conn.route_command(cmd, routing).await?;
                Ok(redis::from_redis_value(value)?)
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn, _) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn, _) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn, _) => conn.get_db(),
        }
    }
}
