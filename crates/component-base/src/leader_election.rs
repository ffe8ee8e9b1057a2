//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's
//! `leaderelection` package: acquire, renew every retry period, give up
//! leading when a renewal has not succeeded within the renew deadline, and
//! release the Lease on a clean stop so a standby takes over at once.
//!
//! Expiry is judged on the local clock from when this candidate last saw the
//! Lease change (client-go's "observed time"), so clock skew between
//! machines does not matter.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;

use crate::health::Check;

/// Where and how to elect.
#[derive(Debug, Clone)]
pub struct Config {
    pub namespace: String,
    pub name: String,
    /// This candidate's identity, written to `spec.holderIdentity`.
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// Errors of an election.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("leader election lost: lease {namespace}/{name} not renewed within {deadline:?}")]
    Lost { namespace: String, name: String, deadline: Duration },
    #[error("invalid leader election configuration: {0}")]
    InvalidConfig(String),
    #[error(transparent)]
    Work(anyhow::Error),
}

/// Upstream's identity: the hostname and a random suffix.
pub fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}_{}", uuid::Uuid::new_v4())
}

#[derive(Debug, Clone)]
struct Observed {
    holder: String,
    renew_time: Option<jiff::Timestamp>,
    at: Instant,
}

#[derive(Debug, Default)]
struct State {
    observed: Option<Observed>,
    /// When this candidate last renewed successfully while leading.
    renewed_at: Option<Instant>,
}

/// One candidate in an election.
#[derive(Debug, Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: Config,
    state: Arc<Mutex<State>>,
}

impl LeaderElector {
    pub fn new(client: kube::Client, config: Config) -> Result<Self, Error> {
        if config.lease_duration <= config.renew_deadline {
            return Err(Error::InvalidConfig("leaseDuration must be greater than renewDeadline".into()));
        }
        if config.renew_deadline <= config.retry_period.mul_f64(1.2) {
            return Err(Error::InvalidConfig("renewDeadline must be greater than retryPeriod*1.2".into()));
        }
        if config.identity.is_empty() {
            return Err(Error::InvalidConfig("identity must not be empty".into()));
        }
        Ok(Self { api: Api::namespaced(client, &config.namespace), config, state: Arc::default() })
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// A `leaderElection` health check: fails when this candidate leads but
    /// has not renewed for longer than the lease duration plus 20 s, as
    /// client-go's `HealthzAdaptor`.
    pub fn health_check(&self) -> Check {
        let state = Arc::clone(&self.state);
        let limit = self.config.lease_duration + Duration::from_secs(20);
        Arc::new(move || match state.lock().ok().and_then(|s| s.renewed_at) {
            Some(at) if at.elapsed() > limit => Err(format!("lease not renewed for {:?}", at.elapsed())),
            _ => Ok(()),
        })
    }

    /// Waits to lead, then runs `work` while renewing. Returns when `work`
    /// ends, when `shutdown` resolves (releasing the Lease), or with
    /// [`Error::Lost`] when a renewal did not succeed in time; upstream
    /// daemons exit then, and so should the caller.
    pub async fn run<W>(&self, work: W, shutdown: impl Future<Output = ()>) -> Result<(), Error>
    where
        W: Future<Output = anyhow::Result<()>>,
    {
        tokio::pin!(shutdown);
        tracing::info!(lease = %format!("{}/{}", self.config.namespace, self.config.name), identity = %self.config.identity, "attempting to acquire leader lease");
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "error retrieving resource lock"),
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(jittered(self.config.retry_period)) => {}
            }
        }
        tracing::info!(lease = %format!("{}/{}", self.config.namespace, self.config.name), identity = %self.config.identity, "successfully acquired lease");
        let result = tokio::select! {
            r = work => r.map_err(Error::Work),
            lost = self.renew_until_lost() => Err(lost),
            _ = &mut shutdown => Ok(()),
        };
        if !matches!(result, Err(Error::Lost { .. })) {
            self.release().await;
        }
        result
    }

    async fn renew_until_lost(&self) -> Error {
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let deadline = Instant::now() + self.config.renew_deadline;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    tracing::error!(identity = %self.config.identity, "failed to renew lease, giving up leadership");
                    return Error::Lost {
                        namespace: self.config.namespace.clone(),
                        name: self.config.name.clone(),
                        deadline: self.config.renew_deadline,
                    };
                }
                match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                    Ok(Ok(true)) => break,
                    Ok(Ok(false)) => {}
                    Ok(Err(err)) => tracing::warn!(error = %err, "failed to renew lease"),
                    Err(_) => continue,
                }
                tokio::time::sleep(self.config.retry_period.min(deadline.saturating_duration_since(Instant::now())))
                    .await;
            }
        }
    }

    /// One attempt: `Ok(true)` when this candidate holds the Lease afterwards.
    async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = jiff::Timestamp::now();
        let duration_secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX).max(1);
        let current = match self.api.get_opt(&self.config.name).await? {
            Some(lease) => lease,
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.config.identity.clone()),
                        lease_duration_seconds: Some(duration_secs),
                        acquire_time: Some(MicroTime(now)),
                        renew_time: Some(MicroTime(now)),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(created) => {
                        self.record(&created, true);
                        Ok(true)
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(err) => Err(err),
                };
            }
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let observed = self.observe(&current);
        let held_by_me = holder == self.config.identity;
        if !holder.is_empty() && !held_by_me {
            let lease_for = Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0));
            if observed.at.elapsed() < lease_for {
                return Ok(false);
            }
        }
        let mut next = current.clone();
        let mut next_spec = spec.clone();
        next_spec.holder_identity = Some(self.config.identity.clone());
        next_spec.lease_duration_seconds = Some(duration_secs);
        next_spec.renew_time = Some(MicroTime(now));
        if !held_by_me {
            next_spec.acquire_time = Some(MicroTime(now));
            next_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        next.spec = Some(next_spec);
        match self.api.replace(&self.config.name, &PostParams::default(), &next).await {
            Ok(updated) => {
                self.record(&updated, true);
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Notes the Lease as seen now, keeping the first time its holder and
    /// renew time were seen unchanged.
    fn observe(&self, lease: &Lease) -> Observed {
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.unwrap_or_default();
        let renew_time = spec.renew_time.map(|t| t.0);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let unchanged = state.observed.as_ref().is_some_and(|o| o.holder == holder && o.renew_time == renew_time);
        if !unchanged {
            state.observed = Some(Observed { holder, renew_time, at: Instant::now() });
        }
        state.observed.clone().unwrap_or_else(|| Observed {
            holder: String::new(),
            renew_time: None,
            at: Instant::now(),
        })
    }

    fn record(&self, lease: &Lease, leading: bool) {
        let spec = lease.spec.clone().unwrap_or_default();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.observed = Some(Observed {
            holder: spec.holder_identity.unwrap_or_default(),
            renew_time: spec.renew_time.map(|t| t.0),
            at: Instant::now(),
        });
        state.renewed_at = leading.then(Instant::now);
    }

    /// Gives the Lease up so a standby need not wait for it to expire.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        let now = jiff::Timestamp::now();
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(now));
        spec.acquire_time = Some(MicroTime(now));
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::info!(identity = %self.config.identity, "released leader lease"),
            Err(err) => tracing::warn!(error = %err, "failed to release leader lease"),
        }
        if let Ok(mut state) = self.state.lock() {
            state.renewed_at = None;
        }
    }
}

/// `d` plus up to 20 % more, as client-go's `wait.Jitter(d, 1.2)`.
fn jittered(d: Duration) -> Duration {
    let r = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    d.mul_f64(1.0 + 0.2 * r)
}
