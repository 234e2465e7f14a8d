//! Prometheus metrics (README "Metrics", docs/fidelity.md#emulator-surfaces): what the emulator counts and how
//! it renders them for `GET /metrics`, in the Prometheus text format of `metrics-exporter-prometheus`.
//!
//! Design decisions:
//! - **One registry per application, no global recorder.** Each [`Metrics`] owns its own recorder and registers
//!   its handles on it directly (the `metrics::Recorder` trait), instead of installing a process-wide recorder
//!   and using the `counter!` macros. Two emulators in one process (the integration tests run dozens, an
//!   embedding test suite may run several) then never add to each other's counters, and a test can assert the
//!   exact values its own requests produced. `metrics::with_local_recorder` is no alternative: it scopes a
//!   recorder to a closure on one thread, and a request's work crosses threads and awaits.
//! - **Hot paths touch atomics only.** Per-job handles are registered once, when the application is built;
//!   a request's counter and latency histogram are registered the first time its route and status pair is
//!   seen and found again in a small map under a read lock. Label values are the static strings of
//!   `crate::api::route_kind` and the log enums; only a new status code or a job id is ever copied.
//! - **Gauges are read from the state when scraped** (queue depth from the staging store, run state from the
//!   job), so they are right after a reset, a restart or a purge without anyone keeping them in step.
//! - **Counters live as long as the process**, as Prometheus expects of them: `POST /_emulator/reset` clears
//!   the emulator's state, not what it has counted (`rate()` and test deltas keep working across it).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::provisioning::log::{ProvisioningAction, ProvisioningResult};

/// Requests answered, by `route` (the surface, `crate::api::route_kind`) and `status`.
pub const HTTP_REQUESTS: &str = "entra_inbound_http_requests_total";
/// Time from a request's arrival to its response head, by `route`.
pub const HTTP_DURATION: &str = "entra_inbound_http_request_duration_seconds";
/// Requests answered 429, by `route`.
pub const THROTTLED: &str = "entra_inbound_throttled_requests_total";
/// Operations accepted into the staging queue, by `job_id`.
pub const STAGED: &str = "entra_inbound_operations_staged_total";
/// Provisioning log entries the engine wrote, by `job_id`, `action` and `status`.
pub const PROCESSED: &str = "entra_inbound_operations_processed_total";
/// Time one batch's unit of work took (directory view, decisions, commit), by `job_id`.
pub const BATCH_DURATION: &str = "entra_inbound_engine_batch_duration_seconds";
/// Operations staged and not yet processed, by `job_id`.
pub const QUEUED: &str = "entra_inbound_queued_operations";
/// 1 for the job's run state, 0 for the others, by `job_id` and `state`.
pub const JOB_STATE: &str = "entra_inbound_job_state";

const HELP: &[(&str, &str)] = &[
    (HTTP_REQUESTS, "HTTP requests answered, by surface and status code."),
    (HTTP_DURATION, "Time from a request's arrival to its response, by surface."),
    (THROTTLED, "HTTP requests answered 429 Too Many Requests, by surface."),
    (STAGED, "Operations accepted into a job's staging queue."),
    (PROCESSED, "Provisioning log entries the engine wrote, by action and status."),
    (BATCH_DURATION, "Time one engine batch took from reading the directory to its commit."),
    (QUEUED, "Operations staged for a job and not yet processed."),
    (JOB_STATE, "1 for the job's run state (running, paused, quarantined), 0 for the others."),
];

/// Histogram bucket bounds, in seconds: from half a millisecond (a cached read) to ten seconds (a big batch on
/// a slow disk).
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often recorded histogram samples are folded into their buckets between scrapes, so memory stays bounded
/// when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

const ACTIONS: usize = ProvisioningAction::ALL.len();
const RESULTS: usize = ProvisioningResult::ALL.len();

/// A job's run state as the `state` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    Quarantined,
}

impl RunState {
    const ALL: [RunState; 3] = [RunState::Running, RunState::Paused, RunState::Quarantined];

    /// Quarantine first, then pause: the precedence of the job's Graph status `code`.
    pub fn of(paused: bool, quarantined: bool) -> Self {
        match (paused, quarantined) {
            (_, true) => Self::Quarantined,
            (true, false) => Self::Paused,
            (false, false) => Self::Running,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Quarantined => "quarantined",
        }
    }
}

/// What a scrape reads of one job.
#[derive(Debug, Clone, Copy)]
pub struct JobReading<'a> {
    pub job_id: &'a str,
    pub queued: usize,
    pub state: RunState,
}

/// The log entries of one batch, counted by action and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes([u64; ACTIONS * RESULTS]);

impl Outcomes {
    pub fn of(entries: impl IntoIterator<Item = (ProvisioningAction, ProvisioningResult)>) -> Self {
        let mut counts = [0; ACTIONS * RESULTS];
        for (action, status) in entries {
            counts[slot(action, status)] += 1;
        }
        Self(counts)
    }

    /// The entries with this action and status.
    pub fn count(&self, action: ProvisioningAction, status: ProvisioningResult) -> u64 {
        self.0[slot(action, status)]
    }
}

/// The index of an (action, status) pair: the enums' members are declared in the order of their `ALL`.
fn slot(action: ProvisioningAction, status: ProvisioningResult) -> usize {
    action as usize * RESULTS + status as usize
}

/// The application's metrics: a cheap handle (clone it freely).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    jobs: HashMap<String, JobHandles>,
    /// By route and status code, registered when first seen.
    http: RwLock<HashMap<(&'static str, u16), HttpHandles, foldhash::fast::RandomState>>,
}

#[derive(Debug)]
struct JobHandles {
    staged: Counter,
    /// By [`slot`].
    processed: Vec<Counter>,
    batch: Histogram,
    queued: Gauge,
    /// In the order of [`RunState::ALL`].
    state: Vec<Gauge>,
}

#[derive(Debug)]
struct HttpHandles {
    requests: Counter,
    duration: Histogram,
    throttled: Option<Counter>,
}

impl Metrics {
    /// A registry with the series of every job in `job_ids` registered (at zero).
    pub fn new<'a>(job_ids: impl IntoIterator<Item = &'a str>) -> Self {
        // `set_buckets` refuses only an empty list.
        let builder = PrometheusBuilder::new().set_buckets(BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        for (name, help) in HELP {
            let name = KeyName::from_const_str(name);
            if name.as_str().ends_with("_seconds") {
                recorder.describe_histogram(name, None, (*help).into());
            } else {
                recorder.describe_counter(name, None, (*help).into());
            }
        }
        let jobs = job_ids.into_iter().map(|id| (id.to_owned(), JobHandles::register(&recorder, id))).collect();
        let handle = recorder.handle();
        Self { inner: Arc::new(Inner { recorder, handle, jobs, http: RwLock::default() }) }
    }

    /// Counts one answered request of surface `route` (`RouteKind::as_str`).
    pub fn observe_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let key = (route, status);
        if let Some(handles) = self.inner.http.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            handles.record(elapsed);
            return;
        }
        let registered = HttpHandles::register(&self.inner.recorder, route, status);
        let mut map = self.inner.http.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_insert(registered).record(elapsed);
    }

    /// Counts `operations` accepted into `job_id`'s staging queue.
    pub fn staged(&self, job_id: &str, operations: usize) {
        if let Some(job) = self.inner.jobs.get(job_id) {
            job.staged.increment(operations as u64);
        }
    }

    /// Counts a committed batch of `job_id`: its log entries and how long its unit of work took.
    pub fn batch_processed(&self, job_id: &str, outcomes: &Outcomes, elapsed: Duration) {
        let Some(job) = self.inner.jobs.get(job_id) else { return };
        for (counter, &n) in job.processed.iter().zip(&outcomes.0) {
            if n > 0 {
                counter.increment(n);
            }
        }
        job.batch.record(elapsed.as_secs_f64());
    }

    /// The Prometheus text of every series, with the gauges set from `readings` first.
    pub fn render<'a>(&self, readings: impl IntoIterator<Item = JobReading<'a>>) -> String {
        for reading in readings {
            let Some(job) = self.inner.jobs.get(reading.job_id) else { continue };
            job.queued.set(reading.queued as f64);
            for (gauge, state) in job.state.iter().zip(RunState::ALL) {
                gauge.set(if state == reading.state { 1.0 } else { 0.0 });
            }
        }
        self.inner.handle.render()
    }

    /// Folds histogram samples into their buckets every few seconds for as long as this registry exists.
    pub fn spawn_upkeep(&self) {
        let registry: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tick.tick().await;
                match registry.upgrade() {
                    Some(inner) => inner.handle.run_upkeep(),
                    None => return,
                }
            }
        });
    }
}

impl JobHandles {
    fn register(recorder: &PrometheusRecorder, job_id: &str) -> Self {
        let job = || Label::new("job_id", job_id.to_owned());
        let mut processed = Vec::with_capacity(ACTIONS * RESULTS);
        for action in ProvisioningAction::ALL {
            for status in ProvisioningResult::ALL {
                let labels = vec![
                    job(),
                    Label::from_static_parts("action", action.as_str()),
                    Label::from_static_parts("status", status.as_str()),
                ];
                processed.push(recorder.register_counter(&Key::from_parts(PROCESSED, labels), &METADATA));
            }
        }
        let state = RunState::ALL
            .iter()
            .map(|s| {
                let labels = vec![job(), Label::from_static_parts("state", s.as_str())];
                recorder.register_gauge(&Key::from_parts(JOB_STATE, labels), &METADATA)
            })
            .collect();
        Self {
            staged: recorder.register_counter(&Key::from_parts(STAGED, vec![job()]), &METADATA),
            processed,
            batch: recorder.register_histogram(&Key::from_parts(BATCH_DURATION, vec![job()]), &METADATA),
            queued: recorder.register_gauge(&Key::from_parts(QUEUED, vec![job()]), &METADATA),
            state,
        }
    }
}

impl HttpHandles {
    fn record(&self, elapsed: Duration) {
        self.requests.increment(1);
        self.duration.record(elapsed.as_secs_f64());
        if let Some(throttled) = &self.throttled {
            throttled.increment(1);
        }
    }

    fn register(recorder: &PrometheusRecorder, route: &'static str, status: u16) -> Self {
        let route_label = Label::from_static_parts("route", route);
        let requests =
            Key::from_parts(HTTP_REQUESTS, vec![route_label.clone(), Label::new("status", status.to_string())]);
        let duration = Key::from_parts(HTTP_DURATION, vec![route_label.clone()]);
        let throttled = (status == 429)
            .then(|| recorder.register_counter(&Key::from_parts(THROTTLED, vec![route_label]), &METADATA));
        Self {
            requests: recorder.register_counter(&requests, &METADATA),
            duration: recorder.register_histogram(&duration, &METADATA),
            throttled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_has_a_slot_of_its_own() {
        for (i, action) in ProvisioningAction::ALL.iter().enumerate() {
            assert_eq!(*action as usize, i, "slots follow ALL");
        }
        for (i, status) in ProvisioningResult::ALL.iter().enumerate() {
            assert_eq!(*status as usize, i, "slots follow ALL");
        }
        use ProvisioningAction::{Create, Disable, Other};
        use ProvisioningResult::{Failure, Skipped, Success};
        let outcomes = Outcomes::of([(Create, Success), (Create, Success), (Disable, Skipped), (Other, Failure)]);
        assert_eq!(outcomes.count(Create, Success), 2);
        assert_eq!(outcomes.count(Disable, Skipped), 1);
        assert_eq!(outcomes.count(Other, Failure), 1);
        assert_eq!(outcomes.count(Create, Failure), 0);
    }

    #[test]
    fn quarantine_outranks_pause() {
        assert_eq!(RunState::of(false, false), RunState::Running);
        assert_eq!(RunState::of(true, false), RunState::Paused);
        assert_eq!(RunState::of(false, true), RunState::Quarantined);
        assert_eq!(RunState::of(true, true), RunState::Quarantined);
    }

    fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<prometheus_parse::Value> {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        scrape
            .samples
            .into_iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| s.value)
    }

    #[test]
    fn two_registries_count_apart_and_render_prometheus_text() {
        let (a, b) = (Metrics::new(["J1"]), Metrics::new(["J1"]));
        a.observe_request("bulkUpload", 202, Duration::from_millis(3));
        a.observe_request("bulkUpload", 429, Duration::from_millis(1));
        a.staged("J1", 2);
        a.staged("unknown job", 5);
        a.batch_processed(
            "J1",
            &Outcomes::of([(ProvisioningAction::Create, ProvisioningResult::Success)]),
            Duration::ZERO,
        );
        let reading = JobReading { job_id: "J1", queued: 1, state: RunState::Paused };
        let text = a.render([reading]);
        let counter = |name, labels: &[(&str, &str)]| match sample(&text, name, labels) {
            Some(prometheus_parse::Value::Counter(v)) => v,
            other => panic!("{name} {labels:?}: {other:?}\n{text}"),
        };
        assert_eq!(counter(HTTP_REQUESTS, &[("route", "bulkUpload"), ("status", "202")]), 1.0);
        assert_eq!(counter(THROTTLED, &[("route", "bulkUpload")]), 1.0);
        assert_eq!(counter(STAGED, &[("job_id", "J1")]), 2.0);
        assert_eq!(counter(PROCESSED, &[("job_id", "J1"), ("action", "create"), ("status", "success")]), 1.0);
        assert_eq!(counter(PROCESSED, &[("job_id", "J1"), ("action", "update"), ("status", "failure")]), 0.0);
        assert!(matches!(sample(&text, QUEUED, &[("job_id", "J1")]), Some(prometheus_parse::Value::Gauge(1.0))));
        let state = |s| sample(&text, JOB_STATE, &[("job_id", "J1"), ("state", s)]);
        assert!(matches!(state("paused"), Some(prometheus_parse::Value::Gauge(1.0))), "{text}");
        assert!(matches!(state("running"), Some(prometheus_parse::Value::Gauge(0.0))), "{text}");
        assert!(text.contains(&format!("# TYPE {HTTP_DURATION} histogram")), "{text}");
        assert!(text.contains(&format!("# HELP {STAGED} ")), "{text}");

        let other = b.render([]);
        assert!(sample(&other, HTTP_REQUESTS, &[]).is_none(), "the second registry saw nothing: {other}");
        assert_eq!(
            match sample(&other, STAGED, &[("job_id", "J1")]) {
                Some(prometheus_parse::Value::Counter(v)) => v,
                v => panic!("{v:?}"),
            },
            0.0
        );
    }
}
