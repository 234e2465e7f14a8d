//! The SCIM 2.0 service provider (RFC 7643, RFC 7644): Users (with the enterprise extension) and Groups in a
//! resource store of their own, queries, PATCH, ETags and a synchronous `/Bulk`, served in two dialects —
//! RFC 7644 at `/scim/v2` and Oracle Identity Cloud Service at `/admin/v1` — by one engine
//! (docs/fidelity.md#s1-scim-20-service-provider). HTTP lives in `crate::api::scim`; this tree has no HTTP type.
//!
//! Module map: `schema` (the attribute table), `resource` (checking writes, rendering reads), `selection`
//! (`attributes`/`excludedAttributes`), `filter` and `patch` (adapters over the `scim_v2` crate's parsers),
//! `query` (ListResponse), `service` (the write operations of one store turn), `bulk` (the BulkRequest
//! executor), `discovery`, `dialect` (every difference between the two APIs), `error` (the SCIM error).

pub mod bulk;
pub mod dialect;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod query;
pub mod resource;
pub mod schema;
pub mod selection;
pub mod service;

use std::collections::HashMap;

use serde_json::{Map, Value};

use self::bulk::BulkRequest;
use self::error::ScimError;
use self::query::Query;
use self::resource::render;
use self::service::{Failure, Writes, settle};
use crate::clock::SharedClock;
use crate::store::{Membership, ScimKey, ScimKind, ScimRecord, Store, StoreError, TurnSize};

/// What the service advertises and enforces (`[scim]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `bulk.maxOperations`.
    pub max_operations: usize,
    /// `bulk.maxPayloadSize`, in bytes; also the limit of every other request body.
    pub max_payload_bytes: usize,
    /// `filter.maxResults`: the most resources one page holds.
    pub max_results: usize,
}

/// The engine: cheap to build per request from the application's handles.
#[derive(Debug, Clone)]
pub struct ScimService {
    store: Store,
    clock: SharedClock,
    pub limits: Limits,
}

impl ScimService {
    pub fn new(store: Store, clock: SharedClock, limits: Limits) -> Self {
        Self { store, clock, limits }
    }

    /// One write turn: `f` runs the write operations; a client error inside it is its answer (what it wrote
    /// before commits), a store error fails the whole turn.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writes<'_>) -> Result<T, Failure> + Send + 'static,
    ) -> Result<Result<T, ScimError>, StoreError> {
        let now = self.clock.now();
        self.store.scim_write(TurnSize::One, move |w| settle(f(&mut Writes { w, now }))).await
    }

    /// Runs a BulkRequest in one turn; `base` is the dialect's base URL.
    pub async fn bulk(&self, request: BulkRequest, base: String) -> Result<Value, StoreError> {
        let now = self.clock.now();
        self.store.scim_write(TurnSize::Many, move |w| request.execute(Writes { w, now }, &base)).await
    }

    /// The groups of the users among `records`.
    async fn memberships(&self, records: &[ScimRecord]) -> Result<HashMap<String, Vec<Membership>>, StoreError> {
        let users: Vec<String> = records.iter().filter(|r| r.kind == ScimKind::User).map(|r| r.id.clone()).collect();
        if users.is_empty() { Ok(HashMap::new()) } else { self.store.scim_memberships(users).await }
    }

    /// The full representation of a record just created (no group lists it yet).
    pub fn render_new(&self, record: &ScimRecord, base: &str) -> Map<String, Value> {
        render(record, base, &[])
    }

    /// A record's full representation.
    pub async fn render(&self, record: &ScimRecord, base: &str) -> Result<Map<String, Value>, StoreError> {
        let groups = self.memberships(std::slice::from_ref(record)).await?;
        Ok(render(record, base, groups.get(&record.id).map_or(&[], Vec::as_slice)))
    }

    /// `GET /{Users|Groups}/{id}`.
    pub async fn get(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRecord>, StoreError> {
        self.store.scim_get(kind, id).await
    }

    /// The rendered resources of `kind` a query may match (an indexed equality narrows them).
    async fn candidates(
        &self,
        kind: ScimKind,
        query: &Query,
        base: &str,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        let indexed = [("id", ScimKey::Id), ("userName", ScimKey::UniqueKey), ("externalId", ScimKey::ExternalId)];
        let narrowed = query.filter.as_ref().and_then(|f| {
            indexed.iter().find_map(|(attr, key)| {
                let value = f.required_eq(attr)?;
                let value = if *key == ScimKey::UniqueKey { value.to_lowercase() } else { value };
                (kind == ScimKind::User || *key != ScimKey::UniqueKey).then_some((*key, value))
            })
        });
        let records = match narrowed {
            Some((key, value)) => self.store.scim_by_keys(kind, key, vec![value]).await?,
            None => self.store.scim_all(kind).await?,
        };
        let groups = self.memberships(&records).await?;
        Ok(records.iter().map(|r| render(r, base, groups.get(&r.id).map_or(&[], Vec::as_slice))).collect())
    }

    /// `GET /{Users|Groups}` and `POST /{Users|Groups}/.search`: the ListResponse.
    pub async fn list(&self, kind: ScimKind, query: &Query, base: &str) -> Result<Value, StoreError> {
        let matched = query.matching(kind, self.candidates(kind, query, base).await?);
        Ok(query.answer(matched, &[(kind, &query.selection)], self.limits.max_results))
    }

    /// `POST /.search` at the root: one ListResponse across resource types (`queries`: each kind's query).
    pub async fn search_all(&self, queries: &[(ScimKind, Query)], base: &str) -> Result<Value, StoreError> {
        let mut matched = Vec::new();
        for (kind, query) in queries {
            matched.extend(query.matching(*kind, self.candidates(*kind, query, base).await?));
        }
        let selections: Vec<(ScimKind, &selection::Selection)> =
            queries.iter().map(|(k, q)| (*k, &q.selection)).collect();
        let Some((_, first)) = queries.first() else { return Ok(Value::Null) };
        Ok(first.answer(matched, &selections, self.limits.max_results))
    }
}
