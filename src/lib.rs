//! Vaultscope: a fast desktop explorer for Azure Key Vault, and the local Azure emulator it is tested against.
//!
//! Layers (see ARCHITECTURE.md): `cloud`, `auth`, `azure`, `access`, `worker` and `emulator` know nothing of
//! egui; `ui` sits on top and talks to the worker only through `worker::Command` and `worker::Event`.

pub mod access;
pub mod auth;
pub mod azure;
pub mod cloud;
pub mod emulator;
pub mod external_emulator;
pub mod fuzz_checks;
pub mod http_body;
pub mod local_index;
pub mod pipeline_check;
pub mod transfer;
pub mod ui;
pub mod untrusted_text;
pub mod worker;
