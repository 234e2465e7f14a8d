//! Helpers for the SCIM service provider's tests: requests to either dialect, SCIM error assertions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;

pub const V2: &str = "/scim/v2";
pub const IDCS: &str = "/admin/v1";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// A SCIM response: status, headers, JSON body (Null when empty).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl TestServer {
    /// `method {base}{prefix}{path}` with a full token and `body` as application/scim+json.
    pub async fn scim(&self, method: Method, prefix: &str, path: &str, body: Option<Value>) -> Reply {
        let token = self.token();
        self.scim_as(&token, method, prefix, path, body).await
    }

    pub async fn scim_as(&self, token: &str, method: Method, prefix: &str, path: &str, body: Option<Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{prefix}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        read(req.send().await.unwrap()).await
    }

    /// `method {base}{prefix}{path}` with a full token and `body` sent as it is, as application/scim+json: for
    /// bodies a `Value` cannot hold (members sharing a name, a stream without a length).
    pub async fn scim_raw(&self, method: Method, prefix: &str, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let req = self.http.request(method, format!("{}{prefix}{path}", self.base)).bearer_auth(self.token());
        read(req.header("content-type", "application/scim+json").body(body).send().await.unwrap()).await
    }

    /// POST /_emulator/reset.
    pub async fn reset(&self) {
        let r = self.http.post(format!("{}/_emulator/reset", self.base)).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
}

pub async fn read(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, headers, body }
}

/// Asserts a SCIM error answer: status, media type, the error schema, `status` as a string, `scimType`
/// (None: absent) and that `detail` contains `detail`.
pub fn assert_scim_error(r: &Reply, status: u16, scim_type: Option<&str>, detail: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/scim+json", "{}", r.body);
    assert_eq!(r.body["schemas"], json!([ERROR]), "{}", r.body);
    assert_eq!(r.body["status"], json!(status.to_string()), "{}", r.body);
    assert_eq!(r.body.get("scimType").and_then(Value::as_str), scim_type, "{}", r.body);
    let text = r.body["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "detail {text:?} lacks {detail:?}");
}

/// A minimal user.
pub fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "displayName": format!("User {name}"), "active": true})
}

pub fn group(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP], "displayName": name, "members": members})
}

/// A BulkRequest of `ops`.
pub fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

/// The last path segment of a location (the resource id).
pub fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_owned()
}
