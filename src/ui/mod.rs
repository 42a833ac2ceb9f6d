//! The egui front end: `app` (the eframe::App), `state` (one module per feature, `AppState` routing events and
//! intents between them), and one file per panel. Talks to the worker only through `worker::Command` and `worker::Event`.

pub mod access_change_panel;
pub mod access_panel;
pub mod app;
pub mod change_actions;
pub mod change_dialogs;
pub mod clipboard;
pub mod details_panel;
pub mod format;
pub mod local_index_panel;
pub mod objects_panel;
pub mod portal_buttons;
pub mod search_panel;
pub mod sign_in_panel;
pub mod state;
pub mod status_bar;
pub mod transfer_panel;
pub mod tree_panel;
pub mod used_by_panel;
pub mod who_can_panel;

pub use app::VaultscopeApp;
