//! REST layer: the HTTP pipeline (retry, `Retry-After`, timeouts, typed errors), Key Vault challenge auth,
//! paging, and the ARM, Key Vault and Graph clients with their typed models. Knows nothing of the UI.

pub mod access_models;
pub mod arm;
pub mod arm_writes;
pub mod challenge;
pub mod error;
pub mod graph;
pub mod identifiers;
pub mod keyvault;
pub mod keyvault_transfer;
pub mod keyvault_writes;
pub mod models;
pub mod object_details;
pub mod pipeline;
pub mod portal;
pub mod resource_graph;
pub mod resource_id;
pub mod web_apps;

pub use error::{AzureError, Service};
pub use pipeline::{Page, Pipeline, RetryPolicy};
