//! Stream history: one row per stream, bitrate samples and platform events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::db::{Db, DbError};

/// One stream as `GET /api/v1/streams` shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamRecord {
    pub uuid: Uuid,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `stopped`, `source_lost` or `crashed`; `null` while on air.
    pub ended_by: Option<String>,
    /// `local` or `cloudflare`.
    pub backend: String,
    /// Platform name → how it did (empty while on air; for a stream cut short by a crash,
    /// rebuilt from its recorded events and samples).
    pub platforms: BTreeMap<String, PlatformOutcome>,
}

/// How one platform did over a stream (the `platforms` JSON of a history row).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlatformOutcome {
    /// The last meaningful status before the stream stopped: `live`, `failed`, `retrying`,
    /// `disabled`, `starting`.
    pub outcome: String,
    /// How many times the platform went `retrying`.
    #[serde(default)]
    pub retries: u32,
    /// Final output statistics where the backend measures them (the local relay); `null` else.
    #[serde(default)]
    pub bytes_sent: Option<u64>,
    #[serde(default)]
    pub reconnects: Option<u32>,
}

/// One stream with everything recorded about it (`GET /api/v1/streams/{uuid}`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamDetail {
    #[serde(flatten)]
    pub stream: StreamRecord,
    /// Bitrate samples, in time order.
    pub samples: Vec<StreamSample>,
    /// Platform events (status changes), in time order.
    pub events: Vec<StreamEventRecord>,
}

/// One bitrate sample of one platform.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamSample {
    pub at: DateTime<Utc>,
    pub platform: String,
    /// `null` where the backend cannot measure it (Cloudflare outputs).
    pub bitrate_kbps: Option<u32>,
    pub bytes_sent: Option<u64>,
}

/// One recorded event of a stream.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StreamEventRecord {
    pub at: DateTime<Utc>,
    /// `null` for events of the whole stream.
    pub platform: Option<String>,
    /// `starting`, `live`, `retrying`, `failed`, `stopped`, `disabled`, ...
    pub kind: String,
    pub detail: Option<String>,
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
        platforms: &BTreeMap<String, PlatformOutcome>,
    ) -> Result<(), DbError> {
        let platforms = serde_json::to_string(platforms).unwrap_or_else(|_| "{}".into());
        self.db.conn().execute(
            "UPDATE streams SET ended_at = ?2, ended_by = ?3, platforms = ?4 WHERE uuid = ?1 AND ended_at IS NULL",
            params![uuid.to_string(), at.to_rfc3339(), by, platforms],
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

    #[cfg(test)]
    pub fn sample(
        &self,
        uuid: Uuid,
        platform: &str,
        bitrate_kbps: Option<u32>,
        bytes_sent: Option<u64>,
    ) -> Result<(), DbError> {
        self.samples(uuid, Utc::now(), &[(platform.to_string(), bitrate_kbps, bytes_sent)])
    }

    /// One tick's samples (platform, bitrate, bytes sent), written in one transaction.
    pub fn samples(
        &self,
        uuid: Uuid,
        at: DateTime<Utc>,
        rows: &[(String, Option<u32>, Option<u64>)],
    ) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO stream_samples (stream_uuid, at, platform, bitrate_kbps, bytes_sent)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let (key, at) = (uuid.to_string(), at.to_rfc3339());
            for (platform, bitrate, bytes) in rows {
                stmt.execute(params![
                    key,
                    at,
                    platform,
                    bitrate,
                    bytes.map(|b| b.min(i64::MAX as u64) as i64)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// At startup, before any stream starts: streams that never ended were cut short by a crash.
    /// They end at their last recorded sign of life.
    pub fn settle_after_crash(&self) -> Result<usize, DbError> {
        let conn = self.db.conn();
        let open: Vec<String> = conn
            .prepare("SELECT uuid FROM streams WHERE ended_at IS NULL")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for uuid in &open {
            // The platforms as the recorder would have written them, from what it kept.
            let mut platforms: BTreeMap<String, PlatformOutcome> = BTreeMap::new();
            let starting = || PlatformOutcome { outcome: "starting".into(), ..Default::default() };
            let events = conn
                .prepare(
                    "SELECT platform, kind FROM stream_events
                     WHERE stream_uuid = ?1 AND platform IS NOT NULL ORDER BY at, rowid",
                )?
                .query_map([uuid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for (platform, kind) in events {
                let entry = platforms.entry(platform).or_insert_with(starting);
                match kind.as_str() {
                    "retrying" => entry.retries += 1,
                    "stopped" => {}
                    _ => entry.outcome = kind,
                }
            }
            let samples = conn
                .prepare("SELECT platform, bytes_sent FROM stream_samples WHERE stream_uuid = ?1 ORDER BY at, rowid")?
                .query_map([uuid], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for (platform, bytes) in samples {
                let entry = platforms.entry(platform).or_insert_with(starting);
                if let Some(b) = bytes {
                    entry.bytes_sent = Some(b.max(0) as u64);
                }
            }
            let json = serde_json::to_string(&platforms).unwrap_or_else(|_| "{}".into());
            conn.execute(
                "UPDATE streams SET ended_by = 'crashed', platforms = ?2,
                     ended_at = COALESCE(
                         (SELECT MAX(at) FROM (SELECT at FROM stream_samples WHERE stream_uuid = streams.uuid
                                               UNION ALL SELECT at FROM stream_events WHERE stream_uuid = streams.uuid)),
                         started_at)
                 WHERE uuid = ?1 AND ended_at IS NULL",
                params![uuid, json],
            )?;
        }
        Ok(open.len())
    }

    /// Every stream, newest first.
    pub fn list(&self) -> Result<Vec<StreamRecord>, DbError> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare(
            "SELECT uuid, started_at, ended_at, ended_by, backend, platforms FROM streams ORDER BY started_at DESC",
        )?;
        let rows = stmt.query_map([], stream_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One stream with its samples and events (each in time order); `None` if unknown.
    pub fn detail(&self, uuid: Uuid) -> Result<Option<StreamDetail>, DbError> {
        let conn = self.db.conn();
        let key = uuid.to_string();
        let stream = conn
            .query_row(
                "SELECT uuid, started_at, ended_at, ended_by, backend, platforms FROM streams WHERE uuid = ?1",
                [&key],
                stream_row,
            )
            .optional()?;
        let Some(stream) = stream else { return Ok(None) };
        let samples = conn
            .prepare(
                "SELECT at, platform, bitrate_kbps, bytes_sent FROM stream_samples
                 WHERE stream_uuid = ?1 ORDER BY at, rowid",
            )?
            .query_map([&key], |r| {
                Ok(StreamSample {
                    at: ts(r.get(0)?),
                    platform: r.get(1)?,
                    bitrate_kbps: r.get::<_, Option<i64>>(2)?.map(|b| b.clamp(0, u32::MAX as i64) as u32),
                    bytes_sent: r.get::<_, Option<i64>>(3)?.map(|b| b.max(0) as u64),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let events = conn
            .prepare(
                "SELECT at, platform, kind, detail FROM stream_events
                 WHERE stream_uuid = ?1 ORDER BY at, rowid",
            )?
            .query_map([&key], |r| {
                Ok(StreamEventRecord {
                    at: ts(r.get(0)?),
                    platform: r.get(1)?,
                    kind: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StreamDetail { stream, samples, events }))
    }
}

fn stream_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StreamRecord> {
    Ok(StreamRecord {
        uuid: r.get::<_, String>(0)?.parse().unwrap_or_default(),
        started_at: ts(r.get(1)?),
        ended_at: r.get::<_, Option<String>>(2)?.map(ts),
        ended_by: r.get(3)?,
        backend: r.get(4)?,
        platforms: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
    })
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
        let outcome = PlatformOutcome { outcome: "live".into(), ..Default::default() };
        h.ended(a, Utc::now(), "stopped", &BTreeMap::from([("tw".to_string(), outcome)])).unwrap();
        h.started(b, Utc::now(), "cloudflare").unwrap();
        h.event(b, Some("tw"), "live", None).unwrap();
        h.event(b, Some("yt"), "retrying", Some("attempt 1")).unwrap();
        h.event(b, Some("yt"), "live", None).unwrap();
        h.sample(b, "yt", Some(3000), Some(4096)).unwrap();
        assert_eq!(h.settle_after_crash().unwrap(), 1);
        let list = h.list().unwrap();
        assert_eq!(list[0].uuid, b, "newest first");
        assert_eq!(list[0].ended_by.as_deref(), Some("crashed"));
        // A crashed stream keeps its platforms (issue 11, finding 7).
        assert_eq!(list[0].platforms["tw"].outcome, "live");
        let yt = &list[0].platforms["yt"];
        assert_eq!((yt.outcome.as_str(), yt.retries, yt.bytes_sent), ("live", 1, Some(4096)));
        assert!(list[0].ended_at.is_some());
        assert_eq!(list[1].ended_by.as_deref(), Some("stopped"));
        assert_eq!(list[1].platforms["tw"].outcome, "live");
        assert_eq!(h.settle_after_crash().unwrap(), 0);
    }

    #[test]
    fn detail_has_samples_and_events_in_time_order() {
        let h = HistoryStore::new(Db::open_in_memory().unwrap());
        let a = Uuid::new_v4();
        assert_eq!(h.detail(a).unwrap(), None, "unknown stream");
        h.started(a, Utc::now(), "local").unwrap();
        h.event(a, Some("tw"), "starting", None).unwrap();
        h.sample(a, "tw", Some(2500), Some(1000)).unwrap();
        h.event(a, Some("tw"), "retrying", Some("attempt 1: refused")).unwrap();
        h.sample(a, "yt", None, None).unwrap();
        h.event(a, None, "source_lost", None).unwrap();
        // A row written before typed outcomes existed (no statistics) still reads.
        h.db.conn()
            .execute("UPDATE streams SET platforms = '{\"tw\":{\"outcome\":\"live\",\"retries\":2}}'", [])
            .unwrap();
        let d = h.detail(a).unwrap().expect("known stream");
        assert_eq!(d.stream.uuid, a);
        assert_eq!(d.stream.platforms["tw"].retries, 2);
        assert_eq!(d.stream.platforms["tw"].bytes_sent, None);
        let kinds: Vec<_> = d.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["starting", "retrying", "source_lost"]);
        assert_eq!(d.events[1].detail.as_deref(), Some("attempt 1: refused"));
        assert_eq!(d.events[2].platform, None);
        assert_eq!(d.samples.len(), 2);
        assert_eq!((d.samples[0].bitrate_kbps, d.samples[0].bytes_sent), (Some(2500), Some(1000)));
        assert_eq!((d.samples[1].platform.as_str(), d.samples[1].bitrate_kbps), ("yt", None));
        assert!(d.samples[0].at <= d.samples[1].at && d.events[0].at <= d.events[2].at);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["uuid"], a.to_string(), "the record's fields are at the top level");
        assert!(json["samples"][1]["bitrate_kbps"].is_null());
    }
}
