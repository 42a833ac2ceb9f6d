//! ARM's cloud metadata (`GET /metadata/endpoints`), served without a token as Azure serves it, so
//! `az cloud register --endpoint-resource-manager` can discover the emulator's endpoints.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::emulator::Shared;

/// The current cloud's endpoints in the dictionary shape of api-version 2022-09-01, the one azure-cli
/// asks for (`azure/cli/command_modules/cloud/custom.py`, `_populate_from_metadata_endpoint`, read by
/// `azure/cli/core/cloud.py::_arm_to_cli_mapper`). URLs end in `/` as Azure's do.
pub(super) async fn endpoints(State(shared): State<Arc<Shared>>) -> Response {
    let port = shared.port;
    let management = format!("{}/", shared.management_audience());
    let graph = format!("https://graph.localhost:{port}/");
    Json(json!({
        "name": "VaultscopeEmulator",
        "portal": format!("https://portal.localhost:{port}/"),
        "resourceManager": management,
        "authentication": {
            "loginEndpoint": format!("{}/", shared.login_base()),
            "audiences": [management],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graph": graph,
        "graphAudience": graph,
        "microsoftGraphResourceId": graph,
        "suffixes": {
            "keyVaultDns": format!("vault.localhost:{port}"),
            "mhsmDns": format!("managedhsm.localhost:{port}"),
        },
    }))
    .into_response()
}
