//! The local database: one SQLite file in the data folder (WAL mode), with versioned
//! migrations from `migrations/`. Holds alerts and stream history; never secrets.

mod alerts;
mod db;
mod history;
pub mod recorder;

pub use alerts::{AlertState, AlertStore, Inserted};
pub use db::{Db, DbError};
pub use history::{
    HistoryStore, PlatformOutcome, StreamDetail, StreamEventRecord, StreamRecord, StreamSample,
};
