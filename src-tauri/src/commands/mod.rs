//! Every command the UI can call, typed once here (tauri-specta generates `ui/src/bindings.ts`).
//! Commands only translate: engine calls and settings changes live in the engine and `Shell`.

pub mod accounts;
pub mod alerts;
pub mod checks;
pub mod history;
pub mod obs;
pub mod secrets;
pub mod settings;
pub mod stream;
pub mod stream_info;
pub mod sync;
pub mod windows;

use tauri::State;

use crate::shell::Shell;

type Sh<'a> = State<'a, Shell>;
