//! TEMPORARY interface stub; replaced by the real client.
#![allow(dead_code, unused)]
use crate::secrets::Secret;
use std::time::Duration;
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub api_base: String,
    pub account_id: String,
    pub token: Secret,
    pub timeout: Duration,
    pub requests_per_5min: u32,
}
#[derive(Clone)]
pub struct CloudflareClient;
#[derive(Debug, Clone, thiserror::Error)]
pub enum CloudflareError {
    #[error("nf")]
    NotFound { x: () },
    #[error("other")]
    Other,
}
impl CloudflareError {
    pub fn is_retryable(&self) -> bool {
        false
    }
    pub fn retry_after(&self) -> Option<Duration> {
        None
    }
}
pub struct CreateLiveInput;
impl CreateLiveInput {
    pub fn named(n: &str) -> Self {
        CreateLiveInput
    }
}
pub struct Rtmps {
    pub url: String,
    pub stream_key: Secret,
}
pub struct Srt {
    pub url: String,
    pub stream_id: String,
    pub passphrase: Secret,
}
pub struct LiveInputStatus;
impl LiveInputStatus {
    pub fn is_receiving(&self) -> bool {
        false
    }
}
pub struct LiveInput {
    pub uid: String,
    pub meta: serde_json::Value,
    pub rtmps: Option<Rtmps>,
    pub srt: Option<Srt>,
    pub status: LiveInputStatus,
}
pub struct LiveOutput {
    pub uid: String,
}
pub struct CreateOutput {
    pub url: String,
    pub stream_key: Secret,
    pub enabled: bool,
}
impl CloudflareClient {
    pub fn new(c: ClientConfig) -> Result<Self, CloudflareError> {
        Ok(CloudflareClient)
    }
    pub async fn get_live_input(&self, uid: &str) -> Result<LiveInput, CloudflareError> {
        todo!()
    }
    pub async fn list_live_inputs(&self) -> Result<Vec<LiveInput>, CloudflareError> {
        todo!()
    }
    pub async fn create_live_input(&self, c: &CreateLiveInput) -> Result<LiveInput, CloudflareError> {
        todo!()
    }
    pub async fn list_outputs(&self, uid: &str) -> Result<Vec<LiveOutput>, CloudflareError> {
        todo!()
    }
    pub async fn create_output(&self, uid: &str, c: &CreateOutput) -> Result<LiveOutput, CloudflareError> {
        todo!()
    }
    pub async fn delete_output(&self, uid: &str, o: &str) -> Result<(), CloudflareError> {
        todo!()
    }
}
