//! Stream history: one row per stream, bitrate samples and platform events.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use super::db::{Db, DbError};

/// One stream as `GET /api/v1/streams` shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StreamRecord {
    pub uuid: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `stopped`, `source_lost` or `crashed`; `null` while on air.
    pub ended_by: Option<String>,
    pub backend: String,
    /// Platform name → outcome (e.g. `{"outcome": "live", "reconnects": 0, "bytes_sent": 123}`).
    pub platforms: serde_json::Value,
}

#[derive(Clone)]
pub struct HistoryStore {
    db: Db,
}

fn ts(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

impl HistoryStore {
    pub fn new(db: Db) -> Self {
        HistoryStore { db }
    }

    pub fn started(&self, uuid: Uuid, at: DateTime<Utc>, backend: &str) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT OR IGNORE INTO streams (uuid, started_at, backend) VALUES (?1, ?2, ?3)",
            params![uuid.to_string(), at.to_rfc3339(), backend],
        )?;
        Ok(())
    }

    pub fn ended(
        &self,
        uuid: Uuid,
        at: DateTime<Utc>,
        by: &str,
        platforms: &serde_json::Value,
    ) -> Result<(), DbError> {
        self.db.conn().execute(
            "UPDATE streams SET ended_at = ?2, ended_by = ?3, platforms = ?4 WHERE uuid = ?1 AND ended_at IS NULL",
            params![uuid.to_string(), at.to_rfc3339(), by, platforms.to_string()],
        )?;
        Ok(())
    }

    pub fn event(
        &self,
        uuid: Uuid,
        platform: Option<&str>,
        kind: &str,
        detail: Option<&str>,
    ) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT INTO stream_events (stream_uuid, at, platform, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid.to_string(), Utc::now().to_rfc3339(), platform, kind, detail],
        )?;
        Ok(())
    }

    pub fn sample(
        &self,
        uuid: Uuid,
        platform: &str,
        bitrate_kbps: Option<u32>,
        bytes_sent: Option<u64>,
    ) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT INTO stream_samples (stream_uuid, at, platform, bitrate_kbps, bytes_sent) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid.to_string(), Utc::now().to_rfc3339(), platform, bitrate_kbps, bytes_sent.map(|b| b as i64)],
        )?;
        Ok(())
    }

    /// At startup, before any stream starts: streams that never ended were cut short by a crash.
    /// They end at their last recorded sign of life.
    pub fn settle_after_crash(&self) -> Result<usize, DbError> {
        Ok(self.db.conn().execute(
            "UPDATE streams SET ended_by = 'crashed',
                 ended_at = COALESCE(
                     (SELECT MAX(at) FROM (SELECT at FROM stream_samples WHERE stream_uuid = streams.uuid
                                           UNION ALL SELECT at FROM stream_events WHERE stream_uuid = streams.uuid)),
                     started_at)
             WHERE ended_at IS NULL",
            [],
        )?)
    }

    /// Every stream, newest first.
    pub fn list(&self) -> Result<Vec<StreamRecord>, DbError> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare(
            "SELECT uuid, started_at, ended_at, ended_by, backend, platforms FROM streams ORDER BY started_at DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StreamRecord {
                    uuid: r.get::<_, String>(0)?.parse().unwrap_or_default(),
                    started_at: ts(r.get(1)?),
                    ended_at: r.get::<_, Option<String>>(2)?.map(ts),
                    ended_by: r.get(3)?,
                    backend: r.get(4)?,
                    platforms: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_end_or_are_settled_as_crashed() {
        let h = HistoryStore::new(Db::open_in_memory().unwrap());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let t0 = Utc::now() - chrono::Duration::minutes(10);
        h.started(a, t0, "local").unwrap();
        h.sample(a, "tw", Some(2500), Some(1000)).unwrap();
        h.ended(a, Utc::now(), "stopped", &serde_json::json!({"tw": {"outcome": "live"}})).unwrap();
        h.started(b, Utc::now(), "cloudflare").unwrap();
        h.event(b, Some("tw"), "live", None).unwrap();
        assert_eq!(h.settle_after_crash().unwrap(), 1);
        let list = h.list().unwrap();
        assert_eq!(list[0].uuid, b, "newest first");
        assert_eq!(list[0].ended_by.as_deref(), Some("crashed"));
        assert!(list[0].ended_at.is_some());
        assert_eq!(list[1].ended_by.as_deref(), Some("stopped"));
        assert_eq!(list[1].platforms["tw"]["outcome"], "live");
        assert_eq!(h.settle_after_crash().unwrap(), 0);
    }
}
