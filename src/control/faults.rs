//! Fault rules (README "Faults"): what `/_emulator/faults` holds, without HTTP. A rule names a surface (the
//! `route_kind` names, or `engine`), optionally one job, and what to do: answer `status`, add `latencyMs`, or —
//! for `engine` — fail the job's next operations with `errorCode`. `probability` (default 1) decides per
//! request, drawn from the rule's own generator: seeded, so a `seed` gives the same sequence on every run;
//! `times` expires the rule after that many hits.
//!
//! Design constraints: rules are checked on every request, so the set is a short vector behind one mutex held
//! only to decide; an expired rule is removed as it expires.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// The surfaces a rule may name: the HTTP ones of `api::route_kind`, and the provisioning engine.
pub const ROUTES: &[&str] = &["bulkUpload", "provisioningLogs", "users", "jobs", "schema", "token", "scim", "engine"];

/// The routes whose requests (or operations) belong to a job, so a rule for them may name one.
const JOB_ROUTES: &[&str] = &["bulkUpload", "jobs", "schema", "engine"];

/// Longest delay a rule may add (a request never waits longer than its timeout anyway).
pub const MAX_LATENCY_MS: u64 = 600_000;

/// A fault rule as the API reads and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Assigned by the emulator; a given one is kept when unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `bulkUpload`, `provisioningLogs`, `users`, `jobs`, `schema`, `token`, `scim` or `engine`.
    pub route: String,
    /// Only requests (or operations) of this job.
    #[serde(default)]
    pub job_id: Option<String>,
    /// The HTTP status to answer (400–599).
    #[serde(default)]
    pub status: Option<u16>,
    /// Milliseconds to wait before answering.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Chance that a matching request is hit, 0 to 1 (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Seed of the rule's generator: the same sequence of hits on every run.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Hits after which the rule expires (default: never).
    #[serde(default)]
    pub times: Option<u64>,
    /// The error code: of the failure entries (`engine`, required), or of the error body (HTTP; default by status).
    #[serde(default)]
    pub error_code: Option<String>,
}

/// Why a rule was refused: a message naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

impl Rule {
    /// Checks every field; the message names the first one that is wrong.
    pub fn validate(&self) -> Result<(), RuleError> {
        let bad = |m: String| Err(RuleError(m));
        if !ROUTES.contains(&self.route.as_str()) {
            return bad(format!("The fault rule's 'route' '{}' is not one of {}.", self.route, ROUTES.join(", ")));
        }
        if let Some(s) = self.status
            && !(400..=599).contains(&s)
        {
            return bad(format!("The fault rule's 'status' {s} is not an error status (400 to 599)."));
        }
        if self.latency_ms.is_some_and(|l| l > MAX_LATENCY_MS) {
            return bad(format!("The fault rule's 'latencyMs' is over {MAX_LATENCY_MS}."));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return bad(format!("The fault rule's 'probability' {p} is not between 0 and 1."));
        }
        if self.times == Some(0) {
            return bad("The fault rule's 'times' must be at least 1.".into());
        }
        if self.id.as_ref().is_some_and(|id| id.is_empty() || id.len() > 100) {
            return bad("The fault rule's 'id' must be 1 to 100 characters.".into());
        }
        if self.job_id.as_ref().is_some_and(|j| j.len() > 200) {
            return bad("The fault rule's 'jobId' is longer than 200 characters.".into());
        }
        if self.job_id.is_some() && !JOB_ROUTES.contains(&self.route.as_str()) {
            return bad(format!("The fault rule's 'jobId' applies to {} rules only.", JOB_ROUTES.join(", ")));
        }
        if self.error_code.as_ref().is_some_and(|c| c.is_empty() || c.len() > 100) {
            return bad("The fault rule's 'errorCode' must be 1 to 100 characters.".into());
        }
        if self.route == "engine" {
            if self.error_code.is_none() {
                return bad("The fault rule's 'errorCode' is required when 'route' is 'engine'.".into());
            }
            if self.status.is_some() || self.latency_ms.is_some() {
                return bad("The fault rule's 'status' and 'latencyMs' apply to HTTP routes, not 'engine'.".into());
            }
        } else if self.status.is_none() && self.latency_ms.is_none() {
            return bad("The fault rule needs 'status', 'latencyMs' or both.".into());
        }
        Ok(())
    }
}

/// What a hit rule does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule_id: String,
    /// The rule has `times`: the hit used one (on a shared database, it is claimed there: `control::shared`).
    pub counted: bool,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error_code: Option<String>,
}

/// A rule with its generator and remaining hits.
#[derive(Debug)]
struct Active {
    rule: Rule,
    rng: StdRng,
    remaining: Option<u64>,
}

impl Active {
    fn new(rule: Rule) -> Self {
        let rng = match rule.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self { remaining: rule.times, rule, rng }
    }

    fn matches(&self, route: &str, job_id: Option<&str>) -> bool {
        self.rule.route == route && self.rule.job_id.as_deref().is_none_or(|j| Some(j) == job_id)
    }

    /// Rolls the rule's dice; a hit counts towards `times`.
    fn roll(&mut self) -> bool {
        let p = self.rule.probability.unwrap_or(1.0);
        // The draw happens even at probability 1, so a seeded sequence does not depend on it.
        let hit = self.rng.random::<f64>() < p;
        if hit && let Some(n) = self.remaining.as_mut() {
            *n -= 1;
        }
        hit
    }

    fn expired(&self) -> bool {
        self.remaining == Some(0)
    }

    /// The rule as shown: `times` is what is left of it.
    fn shown(&self) -> Rule {
        Rule { times: self.remaining, ..self.rule.clone() }
    }
}

/// The rule set of one emulator.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Active>>,
    /// Whether any rule is in force: every request asks, and almost always none is.
    armed: AtomicBool,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Active>> {
        self.rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rules in force, in the order they were added.
    pub fn list(&self) -> Vec<Rule> {
        self.lock().iter().map(Active::shown).collect()
    }

    /// Replaces the set; every rule is checked first, so a bad one changes nothing.
    pub fn replace(&self, rules: Vec<Rule>) -> Result<Vec<Rule>, RuleError> {
        let mut ids = Vec::new();
        let mut fresh = Vec::with_capacity(rules.len());
        for rule in rules {
            let rule = with_id(rule, &ids)?;
            ids.push(rule.id.clone().unwrap_or_default());
            fresh.push(Active::new(rule));
        }
        let mut held = self.lock();
        *held = fresh;
        self.armed.store(!held.is_empty(), Ordering::Release);
        Ok(held.iter().map(Active::shown).collect())
    }

    /// Adds one rule; returns it with its id.
    pub fn add(&self, rule: Rule) -> Result<Rule, RuleError> {
        let mut held = self.lock();
        let ids: Vec<String> = held.iter().filter_map(|a| a.rule.id.clone()).collect();
        let active = Active::new(with_id(rule, &ids)?);
        let shown = active.shown();
        held.push(active);
        self.armed.store(true, Ordering::Release);
        Ok(shown)
    }

    /// Removes the rule `id`; false when there is none.
    pub fn remove(&self, id: &str) -> bool {
        let mut held = self.lock();
        let before = held.len();
        held.retain(|a| a.rule.id.as_deref() != Some(id));
        self.armed.store(!held.is_empty(), Ordering::Release);
        held.len() != before
    }

    /// Removes every rule (also what reset does).
    pub fn reset(&self) {
        self.lock().clear();
        self.armed.store(false, Ordering::Release);
    }

    /// The first rule for `route` (and `job_id`) that hits this request, if any.
    /// Whether any rule is in force (one atomic load: what every request pays while there is none).
    pub fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    pub fn hit(&self, route: &str, job_id: Option<&str>) -> Option<Hit> {
        if !self.armed() {
            return None;
        }
        let mut held = self.lock();
        let index = held.iter_mut().position(|a| a.matches(route, job_id) && a.roll())?;
        let active = &held[index];
        let hit = Hit {
            rule_id: active.rule.id.clone().unwrap_or_default(),
            counted: active.remaining.is_some(),
            status: active.rule.status,
            latency_ms: active.rule.latency_ms.unwrap_or(0),
            error_code: active.rule.error_code.clone(),
        };
        if active.expired() {
            held.remove(index);
            self.armed.store(!held.is_empty(), Ordering::Release);
        }
        Some(hit)
    }

    /// Takes on `rules` as the set in force (the set on a shared database, `control::shared`): a rule the set
    /// already holds keeps its generator (a seeded sequence goes on), with what is left of its `times` as
    /// `rules` says.
    pub fn sync(&self, rules: Vec<Rule>) {
        let mut held = self.lock();
        let mut before = std::mem::take(&mut *held);
        for rule in rules {
            let same = |a: &Active| Rule { times: None, ..a.rule.clone() } == Rule { times: None, ..rule.clone() };
            match before.iter().position(same) {
                Some(i) => {
                    let mut kept = before.swap_remove(i);
                    kept.remaining = rule.times;
                    held.push(kept);
                }
                None => held.push(Active::new(rule)),
            }
        }
        self.armed.store(!held.is_empty(), Ordering::Release);
    }

    /// Uses one of the `times` of rule `id` (a hit drawn by some process, claimed on a shared database);
    /// false when no rule has that id any more.
    pub fn use_once(&self, id: &str) -> bool {
        let mut held = self.lock();
        let Some(i) = held.iter().position(|a| a.rule.id.as_deref() == Some(id)) else { return false };
        if let Some(n) = held[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
        }
        if held[i].expired() {
            held.remove(i);
            self.armed.store(!held.is_empty(), Ordering::Release);
        }
        true
    }
}

/// The rule, checked, with its id: the given one when no other rule has it, else a new one.
fn with_id(mut rule: Rule, taken: &[String]) -> Result<Rule, RuleError> {
    rule.validate()?;
    match &rule.id {
        Some(id) if taken.contains(id) => {
            return Err(RuleError(format!("The fault rule's 'id' '{id}' is used by another rule.")));
        }
        Some(_) => {}
        None => rule.id = Some(uuid::Uuid::new_v4().to_string()),
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> Rule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn validation_names_the_field() {
        let message = |j| rule(j).validate().unwrap_err().0;
        assert!(message(serde_json::json!({"route": "nowhere", "status": 500})).contains("'route'"));
        assert!(message(serde_json::json!({"route": "users", "status": 200})).contains("'status'"));
        assert!(
            message(serde_json::json!({"route": "users", "status": 500, "probability": 2})).contains("'probability'")
        );
        assert!(message(serde_json::json!({"route": "users", "status": 500, "times": 0})).contains("'times'"));
        assert!(message(serde_json::json!({"route": "engine"})).contains("'errorCode'"));
        assert!(message(serde_json::json!({"route": "users"})).contains("'status', 'latencyMs'"));
        assert!(message(serde_json::json!({"route": "token", "jobId": "J", "status": 500})).contains("'jobId'"));
        assert!(rule(serde_json::json!({"route": "users", "latencyMs": 5})).validate().is_ok());
    }

    #[test]
    fn times_expires_a_rule_and_other_routes_and_jobs_are_untouched() {
        let faults = Faults::default();
        faults.add(rule(serde_json::json!({"route": "bulkUpload", "jobId": "J", "status": 429, "times": 2}))).unwrap();
        assert_eq!(faults.hit("users", None), None);
        assert_eq!(faults.hit("bulkUpload", Some("K")), None);
        assert_eq!(faults.hit("bulkUpload", Some("J")).unwrap().status, Some(429));
        assert_eq!(faults.list()[0].times, Some(1));
        assert!(faults.hit("bulkUpload", Some("J")).is_some());
        assert_eq!(faults.hit("bulkUpload", Some("J")), None);
        assert!(faults.list().is_empty());
    }

    #[test]
    fn a_synced_rule_keeps_its_sequence_and_takes_the_times_it_is_given() {
        let draws = |faults: &Faults| (0..8).map(|_| faults.hit("users", None).is_some()).collect::<Vec<_>>();
        let seeded = serde_json::json!({"id": "s", "route": "users", "status": 503, "probability": 0.5, "seed": 7});
        let (reference, synced) = (Faults::default(), Faults::default());
        reference.add(rule(seeded.clone())).unwrap();
        synced.add(rule(seeded)).unwrap();
        let first = draws(&synced);
        assert_eq!(first, draws(&reference));
        synced.sync(reference.list());
        let next = draws(&reference);
        assert_ne!(next, first, "(this seed's second eight draws differ from its first: the test can fail)");
        assert_eq!(draws(&synced), next, "the sequence goes on where it was");

        let counted = Faults::default();
        counted.add(rule(serde_json::json!({"id": "t", "route": "token", "status": 500, "times": 3}))).unwrap();
        counted.sync(vec![rule(serde_json::json!({"id": "t", "route": "token", "status": 500, "times": 1}))]);
        assert!(counted.hit("token", None).unwrap().counted);
        assert!(counted.list().is_empty(), "the one use left is used");
        counted.sync(Vec::new());
        assert!(!counted.armed());
    }

    #[test]
    fn using_a_rule_once_counts_its_times_and_a_missing_rule_cannot_be_used() {
        let faults = Faults::default();
        faults.add(rule(serde_json::json!({"id": "t", "route": "token", "status": 500, "times": 2}))).unwrap();
        faults.add(rule(serde_json::json!({"id": "u", "route": "users", "status": 500}))).unwrap();
        assert!(faults.use_once("t"));
        assert_eq!(faults.list()[0].times, Some(1));
        assert!(faults.use_once("t"));
        assert!(!faults.use_once("t"), "used up: gone");
        assert!(faults.use_once("u"), "a rule without times stays");
        assert_eq!(faults.list().len(), 1);
        assert!(!faults.hit("users", None).unwrap().counted);
    }

    #[test]
    fn a_seed_gives_the_same_sequence_every_time() {
        let sequence = || {
            let faults = Faults::default();
            faults
                .add(rule(serde_json::json!({"route": "token", "status": 503, "probability": 0.5, "seed": 7})))
                .unwrap();
            (0..32).map(|_| faults.hit("token", None).is_some()).collect::<Vec<_>>()
        };
        let first = sequence();
        assert_eq!(first, sequence());
        assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    }

    #[test]
    fn ids_are_assigned_and_must_be_unique() {
        let faults = Faults::default();
        let added = faults.add(rule(serde_json::json!({"route": "users", "status": 500}))).unwrap();
        assert!(added.id.is_some());
        let dup = rule(serde_json::json!({"id": "a", "route": "users", "status": 500}));
        assert!(faults.replace(vec![dup.clone(), dup]).unwrap_err().0.contains("'id' 'a'"));
        assert_eq!(faults.list().len(), 1, "a refused replace changes nothing");
        assert!(faults.remove(added.id.as_deref().unwrap()));
        assert!(!faults.remove("a"));
    }
}
