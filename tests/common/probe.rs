//! The demo directory's well-known ids and `Probe`: plain HTTPS calls to the emulator as any of its
//! principals (ARM, Key Vault), for the protocol tests.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::TestCloud;

pub const TENANT: &str = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub const PROD: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
pub const DEV: &str = "9b2e6f1a-7c3d-4e8f-a1b2-c3d4e5f60702";
pub const ADA: &str = "0d5b7a91-3c2e-4f11-9a6b-1e2d3c4b5a61";
pub const BEN: &str = "1e6c8ba2-4d3f-4a22-8b7c-2f3e4d5c6b72";
pub const CHLOE: &str = "2f7d9cb3-5e4a-4b33-9c8d-3a4f5e6d7c83";
pub const CI_PIPELINE: &str = "7c3a4f5e-8d9c-4e66-8fba-6d7c8b9a0fc7";
pub const ID_ORDERS_API: &str = "6b2f3e4d-7c8b-4d55-9eaf-5c6b7a8f9eb6";
pub const ID_ORDERS_API_APP: &str = "ad4a2f3e-8b7c-4e66-8f1a-6d7c8b9a0fb7";
pub const PLATFORM_OPERATORS: &str = "a1b2c3d4-0001-4a00-8a00-00000000a001";
pub const OPS_ON_CALL: &str = "a1b2c3d4-0002-4a00-8a00-00000000a002";

pub struct Probe {
    pub cloud: TestCloud,
    pub http: Client,
}

impl Probe {
    pub fn start() -> Self {
        let cloud = TestCloud::start();
        let http = cloud.http_client();
        Self { cloud, http }
    }

    pub fn port(&self) -> u16 {
        self.cloud.emulator.port()
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}.localhost:{}{path}", self.port())
    }

    pub fn token(&self, object_id: &str, audience_host: &str) -> String {
        self.cloud.token(object_id, audience_host)
    }

    /// One call; returns the status, the JSON body (or `Null`) and the headers.
    pub fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.cloud.runtime.block_on(async {
            let mut request = self.http.request(method, url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("response");
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await.expect("body");
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::Null),
                headers,
            )
        })
    }

    pub fn arm(&self, principal: &str, path: &str) -> (StatusCode, Value) {
        let token = self.token(principal, "management");
        let (status, body, _) = self.call(
            Method::GET,
            &self.url("management", path),
            Some(&token),
            &[],
            None,
        );
        (status, body)
    }

    /// Every item of an ARM list, following `nextLink`.
    pub fn arm_all(&self, principal: &str, path: &str) -> Vec<Value> {
        let token = self.token(principal, "management");
        let mut url = self.url("management", path);
        let mut items = Vec::new();
        loop {
            let (status, body, _) = self.call(Method::GET, &url, Some(&token), &[], None);
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            match body["nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return items,
            }
        }
    }

    pub fn vault(
        &self,
        principal: &str,
        method: Method,
        vault: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.token(principal, "vault");
        let (status, body, _) = self.call(
            method,
            &self.url(&format!("{vault}.vault"), path),
            Some(&token),
            &[],
            body,
        );
        (status, body)
    }
}

pub fn names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .filter_map(|item| item["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// A secret value to set, as the demo's Ben would.
pub fn body_value() -> Value {
    json!({"value": "from-ben"})
}
