//! Durable alerts: every accepted alert is written before the API answers, and every change
//! of its state (shown, skipped, cleared, held, approved, replayed) follows it.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::db::{Db, DbError};
use crate::alerts::{Alert, AlertKind};

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    Queued,
    /// Waiting for approval (moderation).
    Held,
    Showing,
    Shown,
    Skipped,
    Cleared,
    Rejected,
    /// Below the minimum amount: kept, never shown.
    Filtered,
}

impl AlertState {
    fn as_str(self) -> &'static str {
        match self {
            AlertState::Queued => "queued",
            AlertState::Held => "held",
            AlertState::Showing => "showing",
            AlertState::Shown => "shown",
            AlertState::Skipped => "skipped",
            AlertState::Cleared => "cleared",
            AlertState::Rejected => "rejected",
            AlertState::Filtered => "filtered",
        }
    }
}

/// An alert with its queue bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub alert: Alert,
    pub replay: bool,
}

/// The outcome of an insert.
#[derive(Clone, Debug, PartialEq)]
pub enum Inserted {
    New(Alert),
    /// The idempotency key was seen before: this is the alert it made.
    Duplicate(Alert),
}

fn kind_str(k: AlertKind) -> &'static str {
    match k {
        AlertKind::Donation => "donation",
        AlertKind::Follow => "follow",
        AlertKind::Subscription => "subscription",
        AlertKind::Raid => "raid",
        AlertKind::Cheer => "cheer",
    }
}

fn kind_of(s: &str) -> AlertKind {
    match s {
        "donation" => AlertKind::Donation,
        "subscription" => AlertKind::Subscription,
        "raid" => AlertKind::Raid,
        "cheer" => AlertKind::Cheer,
        _ => AlertKind::Follow,
    }
}

const COLUMNS: &str = "id, kind, from_name, amount, currency, message, platform, received_at, replay";

fn row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    let received: String = r.get(7)?;
    Ok(AlertRow {
        alert: Alert {
            id: r.get(0)?,
            kind: kind_of(&r.get::<_, String>(1)?),
            from: r.get(2)?,
            amount: r.get(3)?,
            currency: r.get(4)?,
            message: r.get(5)?,
            platform: r.get(6)?,
            received_at: DateTime::parse_from_rfc3339(&received)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
        },
        replay: r.get::<_, i64>(8)? != 0,
    })
}

/// Alert persistence over the shared [`Db`]. Cheap to clone.
#[derive(Clone)]
pub struct AlertStore {
    db: Db,
}

impl AlertStore {
    pub fn new(db: Db) -> Self {
        AlertStore { db }
    }

    /// Store a new alert in `state`, unless its idempotency key was seen before.
    pub fn insert(&self, alert: &Alert, key: Option<&str>, state: AlertState) -> Result<Inserted, DbError> {
        let conn = self.db.conn();
        let tx = conn.unchecked_transaction()?;
        if let Some(k) = key {
            let sql = format!("SELECT {COLUMNS} FROM alerts WHERE idempotency_key = ?1");
            if let Some(existing) = tx.query_row(&sql, [k], row).optional()? {
                return Ok(Inserted::Duplicate(existing.alert));
            }
        }
        tx.execute(
            "INSERT INTO alerts (id, seq, kind, from_name, amount, currency, message, platform, received_at,
                                 idempotency_key, state)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                alert.id,
                kind_str(alert.kind),
                alert.from,
                alert.amount,
                alert.currency,
                alert.message,
                alert.platform,
                alert.received_at.to_rfc3339(),
                key,
                state.as_str()
            ],
        )?;
        tx.commit()?;
        Ok(Inserted::New(alert.clone()))
    }

    /// Move an alert to `state`. A replay puts a shown alert back in the queue, last in order.
    pub fn set_state(&self, id: &str, state: AlertState, replay: bool) -> Result<bool, DbError> {
        let conn = self.db.conn();
        let n = match state {
            AlertState::Queued if replay => conn.execute(
                "UPDATE alerts SET state = 'queued', replay = 1,
                        seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts) WHERE id = ?1",
                [id],
            )?,
            AlertState::Showing => conn.execute(
                "UPDATE alerts SET state = 'showing', shown_at = ?2 WHERE id = ?1",
                params![id, Utc::now().to_rfc3339()],
            )?,
            AlertState::Shown | AlertState::Skipped | AlertState::Cleared => conn.execute(
                "UPDATE alerts SET state = ?2, replay = 0 WHERE id = ?1",
                params![id, state.as_str()],
            )?,
            _ => conn.execute("UPDATE alerts SET state = ?2 WHERE id = ?1", params![id, state.as_str()])?,
        };
        Ok(n > 0)
    }

    /// Every queued alert leaves the queue (`cleared`).
    pub fn clear_queued(&self) -> Result<usize, DbError> {
        Ok(self
            .db
            .conn()
            .execute("UPDATE alerts SET state = 'cleared', replay = 0 WHERE state = 'queued'", [])?)
    }

    pub fn set_paused(&self, paused: bool) -> Result<(), DbError> {
        self.db.conn().execute(
            "INSERT INTO flags (key, value) VALUES ('alerts.paused', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [if paused { "1" } else { "0" }],
        )?;
        Ok(())
    }

    pub fn paused(&self) -> Result<bool, DbError> {
        let v: Option<String> = self
            .db
            .conn()
            .query_row("SELECT value FROM flags WHERE key = 'alerts.paused'", [], |r| r.get(0))
            .optional()?;
        Ok(v.as_deref() == Some("1"))
    }

    /// Alerts in one state, oldest first (queue order).
    pub fn in_state(&self, state: AlertState) -> Result<Vec<AlertRow>, DbError> {
        let conn = self.db.conn();
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE state = ?1 ORDER BY seq");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([state.as_str()], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The most recently shown alerts (for replay), newest last.
    pub fn recent_shown(&self, limit: usize) -> Result<Vec<Alert>, DbError> {
        let conn = self.db.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM (SELECT * FROM alerts WHERE state IN ('shown', 'skipped')
                                   ORDER BY shown_at DESC LIMIT ?1) ORDER BY shown_at"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map([limit as i64], row)?
            .map(|r| r.map(|r| r.alert))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// At startup: an alert that was on screen when the process died counts as shown (it was
    /// seen at least in part; showing it again would show it twice).
    pub fn settle_after_crash(&self) -> Result<usize, DbError> {
        Ok(self.db.conn().execute("UPDATE alerts SET state = 'shown' WHERE state = 'showing'", [])?)
    }

    /// Is this alert waiting in the queue (not cleared, shown, held...)?
    pub fn is_queued(&self, id: &str) -> Result<bool, DbError> {
        let state: Option<String> = self
            .db
            .conn()
            .query_row("SELECT state FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(state.as_deref() == Some("queued"))
    }

    pub fn get(&self, id: &str) -> Result<Option<AlertRow>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1");
        Ok(self.db.conn().query_row(&sql, [id], row).optional()?)
    }

    /// How many alerts there are in total (for tests and diagnostics).
    pub fn count(&self) -> Result<u64, DbError> {
        Ok(self.db.conn().query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, kind: AlertKind) -> Alert {
        Alert {
            id: id.into(),
            kind,
            from: format!("from-{id}"),
            amount: Some(5.0),
            currency: Some("USD".into()),
            message: None,
            platform: None,
            received_at: Utc::now(),
        }
    }

    #[test]
    fn insert_is_idempotent_by_key_and_states_move() {
        let store = AlertStore::new(Db::open_in_memory().unwrap());
        assert!(matches!(
            store.insert(&alert("a", AlertKind::Donation), Some("k1"), AlertState::Queued).unwrap(),
            Inserted::New(_)
        ));
        let dup = store.insert(&alert("b", AlertKind::Donation), Some("k1"), AlertState::Queued).unwrap();
        assert_eq!(dup, Inserted::Duplicate(store.get("a").unwrap().unwrap().alert));
        store.insert(&alert("c", AlertKind::Follow), None, AlertState::Queued).unwrap();
        store.insert(&alert("d", AlertKind::Follow), None, AlertState::Held).unwrap();
        assert_eq!(store.count().unwrap(), 3);
        let ids = |v: Vec<AlertRow>| v.into_iter().map(|r| r.alert.id).collect::<Vec<_>>();
        assert_eq!(ids(store.in_state(AlertState::Queued).unwrap()), ["a", "c"]);
        assert_eq!(ids(store.in_state(AlertState::Held).unwrap()), ["d"]);
        store.set_state("a", AlertState::Showing, false).unwrap();
        assert_eq!(store.settle_after_crash().unwrap(), 1);
        assert_eq!(store.recent_shown(10).unwrap()[0].id, "a");
        store.set_state("a", AlertState::Queued, true).unwrap();
        let q = store.in_state(AlertState::Queued).unwrap();
        assert_eq!(ids(q.clone()), ["c", "a"], "a replay goes to the end of the order");
        assert!(q[1].replay);
        assert_eq!(store.clear_queued().unwrap(), 2);
        assert!(!store.paused().unwrap());
        store.set_paused(true).unwrap();
        assert!(store.paused().unwrap());
        let back = store.get("c").unwrap().unwrap().alert;
        assert_eq!(
            (back.kind, back.amount, back.currency.as_deref()),
            (AlertKind::Follow, Some(5.0), Some("USD"))
        );
    }
}
