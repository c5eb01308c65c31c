//! `streampai stream info` (show the saved stream info and the last push's results, as JSON),
//! `streampai stream info --title … [--twitch-category ID] [--youtube-description …]` (save and
//! push to every platform; prints each platform's result in words), and `streampai stream
//! categories QUERY` (Twitch's categories matching QUERY, as JSON).

use std::process::ExitCode;

use serde_json::{json, Value};

use super::Api;

#[derive(clap::Subcommand)]
pub(crate) enum StreamCommand {
    /// Show the stream info; with --title, save it and push it to every signed-in platform.
    Info {
        /// The title (every platform).
        #[arg(long)]
        title: Option<String>,
        /// Twitch's category id (`stream categories QUERY` finds one; "0" clears it).
        #[arg(long, value_name = "ID")]
        twitch_category: Option<String>,
        /// YouTube's description.
        #[arg(long)]
        youtube_description: Option<String>,
    },
    /// Search Twitch's categories (needs a signed-in Twitch account).
    Categories { query: String },
}

/// One platform's result in words.
pub(crate) fn result_words(v: &Value) -> String {
    if v["ok"] == true {
        return "updated".into();
    }
    let kind = v["error"]["kind"].as_str().unwrap_or("error");
    let message = v["error"]["message"].as_str().unwrap_or("no explanation");
    match kind {
        "not_signed_in" => format!("not signed in ({message})"),
        other => format!("not updated ({}): {message}", other.replace('_', " ")),
    }
}

fn print_error(status: u16, body: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    match v["error"]["message"].as_str() {
        Some(m) => eprintln!("streampai: {m} (HTTP {status})"),
        None => eprintln!("streampai: HTTP {status}: {body}"),
    }
}

pub(crate) async fn run(api: Api, action: StreamCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let (method, path, body) = match action {
        StreamCommand::Info { title: None, twitch_category: None, youtube_description: None } => {
            (Method::GET, "/api/v1/stream/info".to_string(), None)
        }
        StreamCommand::Info { title, twitch_category, youtube_description } => {
            let Some(title) = title else {
                eprintln!("streampai: --title is needed to save the stream info");
                return Ok(ExitCode::from(2));
            };
            let body = json!({
                "title": title,
                "twitch_category_id": twitch_category,
                "youtube_description": youtube_description,
            });
            (Method::POST, "/api/v1/stream/info".to_string(), Some(body))
        }
        StreamCommand::Categories { query } => {
            let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            (Method::GET, format!("/api/v1/stream/categories?q={q}"), None)
        }
    };
    let saving = body.is_some();
    let (status, text) = api.call(method, &path, body).await?;
    if !(200..300).contains(&status) {
        print_error(status, &text);
        return Ok(ExitCode::from(1));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    if !saving {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("Saved.");
    let mut all_fine = true;
    if let Some(results) = v["results"].as_object() {
        for (platform, r) in results {
            let label = match platform.as_str() {
                "twitch" => "Twitch",
                "youtube" => "YouTube",
                other => other,
            };
            println!("{label}: {}", result_words(r));
            all_fine &= r["ok"] == true || r["error"]["kind"] == "not_signed_in";
        }
    }
    Ok(if all_fine { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
