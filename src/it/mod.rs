//! Tests that look inside the tree (kill a child, read an actor's handle) live in the crate;
//! everything else tests the public API from `tests/`. They share `tests/support`.

#[allow(unused_imports)]
#[path = "../../tests/support/mod.rs"]
mod support;

mod obs_link;
mod tree_supervision;
mod twitch_supervision;
mod youtube_supervision;
