//! Redis backend (placeholder until the Redis slice lands).

use std::sync::Weak;

use super::hub::{HubEvent, Snapshot};
use super::{ServerConfig, Shared};
use crate::protocol::{Meta, StreamState};

pub struct RedisBackend;

impl RedisBackend {
    pub async fn connect(_url: &str, _cfg: &ServerConfig, _instance: &str) -> Result<Self, String> {
        Err("not available yet".into())
    }
    pub fn spawn_tasks(&self, _shared: Weak<Shared>) {}
    pub async fn join(&self, _user: &str, _device_id: &str, _meta: &Meta) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    pub async fn leave(&self, _user: &str, _conn: &str, _was_host: bool) -> Result<(), String> {
        Ok(())
    }
    pub async fn save_state(&self, _user: &str, _host: &str, _state: &StreamState) -> Result<(), String> {
        Ok(())
    }
    pub async fn publish(&self, _user: &str, _ev: &HubEvent) -> Result<(), String> {
        Ok(())
    }
    pub fn abort(&self) {}
}
