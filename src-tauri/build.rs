//! tauri.conf.json lives at the repository root (one config for the CLI, the bundle and the app).
fn main() {
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=capabilities");
    let attrs = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    tauri_build::try_build(attrs).expect("tauri build script");
}
