//! Image garbage collection, as upstream's image GC manager
//! (`pkg/kubelet/images/image_gc_manager.go`): every [`PERIOD`] the kubelet
//! notes when it first saw each image and when a container last used it, and
//! when the image filesystem's usage reaches the high threshold it removes
//! unused images, least recently used first, until usage is back to the low
//! threshold. Images in use, pinned images (the sandbox image) and images
//! first seen less than the minimum age ago are never removed. When it cannot
//! free enough it says so on the Node with upstream's events.
//!
//! The decision ([`bytes_to_free`], [`select`]) and the tracking ([`Tracker`])
//! are pure; [`Manager`] feeds them from the runtime and [`run`] is the loop.

use std::collections::HashMap;
use std::time::Duration;

use crate::runtime::{self, ContainerStatus, Image, SharedRuntime};

/// How often images are detected and garbage collected (upstream's `ImageGCPeriod`).
pub const PERIOD: Duration = Duration::from_secs(5 * 60);

/// Upstream's event reasons (`pkg/kubelet/events`).
pub const REASON_FREE_DISK_SPACE_FAILED: &str = "FreeDiskSpaceFailed";
pub const REASON_IMAGE_GC_FAILED: &str = "ImageGCFailed";
pub const REASON_INVALID_DISK_CAPACITY: &str = "InvalidDiskCapacity";

/// `--image-gc-high-threshold` default (percent of the image filesystem).
pub const DEFAULT_HIGH_THRESHOLD_PERCENT: u8 = 85;
/// `--image-gc-low-threshold` default.
pub const DEFAULT_LOW_THRESHOLD_PERCENT: u8 = 80;
/// `--minimum-image-ttl-duration` default.
pub const DEFAULT_MIN_AGE: Duration = Duration::from_secs(2 * 60);

/// Invalid thresholds, with upstream's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid HighThresholdPercent {0}, must be in range [0-100]")]
    HighOutOfRange(i32),
    #[error("invalid LowThresholdPercent {0}, must be in range [0-100]")]
    LowOutOfRange(i32),
    #[error("LowThresholdPercent {low} can not be higher than HighThresholdPercent {high}")]
    LowAboveHigh { low: i32, high: i32 },
}

/// The thresholds and minimum age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub high_threshold_percent: u8,
    pub low_threshold_percent: u8,
    pub min_age: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            high_threshold_percent: DEFAULT_HIGH_THRESHOLD_PERCENT,
            low_threshold_percent: DEFAULT_LOW_THRESHOLD_PERCENT,
            min_age: DEFAULT_MIN_AGE,
        }
    }
}

impl Policy {
    /// Checks the thresholds (percentages as the flags give them) as upstream's `NewImageGCManager`.
    pub fn new(high: i32, low: i32, min_age: Duration) -> Result<Self, Error> {
        let percent = |v: i32| u8::try_from(v).ok().filter(|p| *p <= 100);
        let high_percent = percent(high).ok_or(Error::HighOutOfRange(high))?;
        let low_percent = percent(low).ok_or(Error::LowOutOfRange(low))?;
        if low > high {
            return Err(Error::LowAboveHigh { low, high });
        }
        Ok(Policy { high_threshold_percent: high_percent, low_threshold_percent: low_percent, min_age })
    }
}

/// The image filesystem's size and free space, in bytes (CRI ImageFsInfo or statfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsUsage {
    pub capacity_bytes: u64,
    pub available_bytes: u64,
}

/// What the kubelet knows of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: String,
    pub size_bytes: u64,
    /// When this kubelet first saw the image (Unix seconds).
    pub first_detected: i64,
    /// When a container last used it (Unix seconds; 0 if never, so never-used
    /// images go first, as upstream's zero time does).
    pub last_used: i64,
    /// A container (running or not) refers to it.
    pub in_use: bool,
    /// Never removed (the sandbox image, runtime-pinned images).
    pub pinned: bool,
}

/// Bytes to free now, or `None` when usage is under the high threshold (or GC is off:
/// high threshold 100, or an empty filesystem report).
pub fn bytes_to_free(policy: &Policy, fs: FsUsage) -> Option<u64> {
    if policy.high_threshold_percent >= 100 || fs.capacity_bytes == 0 {
        return None;
    }
    let available = fs.available_bytes.min(fs.capacity_bytes);
    let usage_percent = 100 - (available as u128 * 100 / fs.capacity_bytes as u128) as u64;
    if usage_percent < u64::from(policy.high_threshold_percent) {
        return None;
    }
    let target_available = fs.capacity_bytes as u128 * u128::from(100 - policy.low_threshold_percent) / 100;
    let to_free = target_available.saturating_sub(available as u128);
    (to_free > 0).then_some(to_free as u64)
}

/// The images to remove, in order, to free `bytes` at `now` (Unix seconds): unused,
/// unpinned images older than the minimum age, least recently used first (then first
/// detected first), until enough is freed. Returns them and the bytes they free, which
/// may fall short when too little is removable.
pub fn select(policy: &Policy, images: &[ImageRecord], bytes: u64, now: i64) -> (Vec<String>, u64) {
    let min_age = i64::try_from(policy.min_age.as_secs()).unwrap_or(i64::MAX);
    let mut candidates: Vec<&ImageRecord> =
        images.iter().filter(|i| !i.in_use && !i.pinned && now.saturating_sub(i.first_detected) >= min_age).collect();
    candidates.sort_by_key(|i| (i.last_used, i.first_detected));
    let mut freed = 0u64;
    let mut chosen = Vec::new();
    for image in candidates {
        if freed >= bytes {
            break;
        }
        freed += image.size_bytes;
        chosen.push(image.id.clone());
    }
    (chosen, freed)
}

/// What the kubelet remembers of one image between passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    first_detected: i64,
    last_used: Option<i64>,
}

/// First-detected and last-used times of the runtime's images, as upstream's
/// `detectImages` keeps them: an image is first detected when a pass first
/// sees it; its last use is the latest pass at which a container (running or
/// not) referred to it; an image gone from the runtime is forgotten.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<String, Seen>,
}

impl Tracker {
    /// Records the runtime's `images` and `containers` as seen at `now` (Unix
    /// seconds) and returns what the decision needs of every image. Images
    /// named by `sandbox_images` are pinned, as are those the runtime pins.
    pub fn observe(
        &mut self,
        images: &[Image],
        containers: &[ContainerStatus],
        sandbox_images: &[String],
        now: i64,
    ) -> Vec<ImageRecord> {
        let sandbox_images: Vec<String> = sandbox_images.iter().map(|r| normalize_reference(r)).collect();
        self.seen.retain(|id, _| images.iter().any(|i| &i.id == id));
        images
            .iter()
            .map(|image| {
                let in_use = containers.iter().any(|c| image.is_named(&c.image_ref) || image.is_named(&c.image));
                let seen = self.seen.entry(image.id.clone()).or_insert(Seen { first_detected: now, last_used: None });
                if in_use {
                    seen.last_used = Some(now);
                }
                let sandbox = image.repo_tags.iter().any(|t| sandbox_images.contains(&normalize_reference(t)))
                    || sandbox_images.iter().any(|r| image.is_named(r));
                ImageRecord {
                    id: image.id.clone(),
                    size_bytes: image.size_bytes,
                    first_detected: seen.first_detected,
                    last_used: seen.last_used.unwrap_or(0),
                    in_use,
                    pinned: image.pinned || sandbox,
                }
            })
            .collect()
    }

    /// Forgets an image the kubelet removed.
    pub fn forget(&mut self, id: &str) {
        self.seen.remove(id);
    }
}

/// The fully qualified form of an image reference, as containerd lists its
/// tags: `pause:3.10` is `docker.io/library/pause:3.10`, `busybox` is
/// `docker.io/library/busybox:latest`.
pub fn normalize_reference(reference: &str) -> String {
    if reference.starts_with("sha256:") {
        return reference.to_owned();
    }
    let (first, _) = reference.split_once('/').unwrap_or(("", reference));
    let mut full = if first.is_empty() {
        format!("docker.io/library/{reference}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        reference.to_owned()
    } else {
        format!("docker.io/{reference}")
    };
    let name = full.rsplit('/').next().unwrap_or_default();
    if !name.contains(':') && !name.contains('@') {
        full.push_str(":latest");
    }
    full
}

/// Errors of one garbage collection pass, with upstream's wording (they
/// become the messages of the Node's events).
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("failed to detect images: {0}")]
    DetectFailed(#[source] runtime::Error),
    #[error("failed to get imageFs info: {0}")]
    ImageFsInfoFailed(#[source] runtime::Error),
    #[error("invalid capacity 0 on image filesystem")]
    InvalidCapacity,
    #[error("wanted to free {wanted} bytes, but freed {freed} bytes space with errors in image deletion: {}", aggregate(.errors))]
    RemoveFailed { wanted: u64, freed: u64, errors: Vec<String> },
    #[error(
        "Failed to garbage collect required amount of images. Attempted to free {wanted} bytes, but only found {freed} bytes eligible to free."
    )]
    NotEnoughFreed { wanted: u64, freed: u64 },
}

/// Several errors as upstream's aggregate prints them.
fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The warnings upstream posts on the Node when a pass fails with `error`:
/// the pass's own (`FreeDiskSpaceFailed`, `InvalidDiskCapacity`), and
/// `ImageGCFailed` when the previous pass failed too.
pub fn failure_events(error: &GcError, failed_before: bool) -> Vec<(&'static str, String)> {
    let mut events = Vec::new();
    match error {
        GcError::NotEnoughFreed { .. } => events.push((REASON_FREE_DISK_SPACE_FAILED, error.to_string())),
        GcError::InvalidCapacity => events.push((REASON_INVALID_DISK_CAPACITY, error.to_string())),
        _ => {}
    }
    if failed_before {
        events.push((REASON_IMAGE_GC_FAILED, error.to_string()));
    }
    events
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freed {
    /// Ids of the images removed, in order.
    pub removed: Vec<String>,
    pub bytes: u64,
}

/// Unix seconds, now.
fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The image garbage collector of one kubelet: the runtime, the policy and
/// what it has seen of the images.
#[derive(Debug)]
pub struct Manager {
    runtime: SharedRuntime,
    policy: Policy,
    tracker: Tracker,
}

impl Manager {
    pub fn new(runtime: SharedRuntime, policy: Policy) -> Self {
        Manager { runtime, policy, tracker: Tracker::default() }
    }

    /// Lists the runtime's images, containers and sandbox images and records them as seen at `now`.
    pub async fn detect(&mut self, now: i64) -> Result<Vec<ImageRecord>, GcError> {
        let images = self.runtime.list_images().await.map_err(GcError::DetectFailed)?;
        let containers = self.runtime.list_containers().await.map_err(GcError::DetectFailed)?;
        let sandbox_images = self.runtime.sandbox_images().await.map_err(GcError::DetectFailed)?;
        Ok(self.tracker.observe(&images, &containers, &sandbox_images, now))
    }

    /// One pass at the current time.
    pub async fn garbage_collect(&mut self) -> Result<Freed, GcError> {
        self.garbage_collect_at(now_secs()).await
    }

    /// One pass as upstream's `GarbageCollect` at `now` (Unix seconds): detect
    /// the images, and when the image filesystem is at or over the high
    /// threshold remove unused images, least recently used first, until usage
    /// is down to the low threshold. A failed removal is skipped (the next
    /// candidate goes instead) and reported at the end.
    pub async fn garbage_collect_at(&mut self, now: i64) -> Result<Freed, GcError> {
        let records = self.detect(now).await?;
        let fs = self.runtime.image_fs_info().await.map_err(GcError::ImageFsInfoFailed)?;
        if fs.capacity_bytes == 0 {
            return Err(GcError::InvalidCapacity);
        }
        let usage = FsUsage { capacity_bytes: fs.capacity_bytes, available_bytes: fs.available_bytes };
        let Some(wanted) = bytes_to_free(&self.policy, usage) else { return Ok(Freed::default()) };
        let available = fs.available_bytes.min(fs.capacity_bytes);
        tracing::info!(
            mountpoint = %fs.mountpoint.display(),
            usage = 100 - available as u128 * 100 / fs.capacity_bytes as u128,
            high_threshold = self.policy.high_threshold_percent,
            low_threshold = self.policy.low_threshold_percent,
            amount_to_free = wanted,
            "disk usage on image filesystem is over the high threshold, trying to free bytes down to the low threshold"
        );
        // Every removable image in eviction order; removal stops once enough is freed.
        let (candidates, _) = select(&self.policy, &records, u64::MAX, now);
        let mut freed = Freed::default();
        let mut errors = Vec::new();
        for id in candidates {
            if freed.bytes >= wanted {
                break;
            }
            let size = records.iter().find(|r| r.id == id).map(|r| r.size_bytes).unwrap_or(0);
            tracing::info!(image = %id, size, "removing image to free bytes");
            match self.runtime.remove_image(&id).await {
                Ok(()) => {
                    self.tracker.forget(&id);
                    freed.bytes = freed.bytes.saturating_add(size);
                    freed.removed.push(id);
                }
                Err(e) => {
                    tracing::warn!(image = %id, error = %e, "failed to remove image");
                    errors.push(e.to_string());
                }
            }
        }
        if !errors.is_empty() {
            return Err(GcError::RemoveFailed { wanted, freed: freed.bytes, errors });
        }
        if freed.bytes < wanted {
            return Err(GcError::NotEnoughFreed { wanted, freed: freed.bytes });
        }
        Ok(freed)
    }
}

/// Runs image garbage collection every `period` until `shutdown`, as
/// upstream's `StartGarbageCollection`: the first pass at once; a failed pass
/// posts its own warning, and `ImageGCFailed` when the one before failed too.
/// A high threshold of 100 disables it.
pub async fn run(
    runtime: SharedRuntime,
    policy: Policy,
    period: Duration,
    events: crate::events::Recorder,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if policy.high_threshold_percent >= 100 {
        tracing::info!("image garbage collection disabled: --image-gc-high-threshold is 100");
        return;
    }
    let mut manager = Manager::new(runtime, policy);
    let mut failed_before = false;
    loop {
        match manager.garbage_collect().await {
            Ok(freed) => {
                if failed_before || !freed.removed.is_empty() {
                    tracing::info!(
                        removed = freed.removed.len(),
                        bytes = freed.bytes,
                        "image garbage collection succeeded"
                    );
                } else {
                    tracing::debug!("image garbage collection succeeded");
                }
                failed_before = false;
            }
            Err(e) => {
                if failed_before {
                    tracing::error!(error = %e, "image garbage collection failed multiple times in a row");
                } else {
                    tracing::error!(error = %e, "image garbage collection failed once");
                }
                for (reason, message) in failure_events(&e, failed_before) {
                    events.node("Warning", reason, message);
                }
                failed_before = true;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn image(id: &str, size_gib: u64, first_detected: i64, last_used: i64) -> ImageRecord {
        ImageRecord {
            id: id.into(),
            size_bytes: size_gib * GIB,
            first_detected,
            last_used,
            in_use: false,
            pinned: false,
        }
    }

    #[test]
    fn thresholds_are_checked_as_upstream() {
        assert_eq!(Policy::new(101, 80, DEFAULT_MIN_AGE), Err(Error::HighOutOfRange(101)));
        assert_eq!(Policy::new(85, 101, DEFAULT_MIN_AGE), Err(Error::LowOutOfRange(101)));
        let err = Policy::new(70, 80, DEFAULT_MIN_AGE).unwrap_err();
        assert_eq!(err.to_string(), "LowThresholdPercent 80 can not be higher than HighThresholdPercent 70");
        assert_eq!(Policy::new(85, 80, DEFAULT_MIN_AGE).unwrap(), Policy::default());
    }

    #[test]
    fn nothing_is_freed_below_the_high_threshold_and_down_to_the_low_one_above_it() {
        let p = Policy::default();
        let fs = |used_gib: u64| FsUsage { capacity_bytes: 100 * GIB, available_bytes: (100 - used_gib) * GIB };
        assert_eq!(bytes_to_free(&p, fs(84)), None, "84% used is under 85%");
        assert_eq!(bytes_to_free(&p, fs(85)), Some(5 * GIB), "at 85% free down to 80%");
        assert_eq!(bytes_to_free(&p, fs(95)), Some(15 * GIB));
        let off = Policy::new(100, 80, DEFAULT_MIN_AGE).unwrap();
        assert_eq!(bytes_to_free(&off, fs(99)), None, "a high threshold of 100 disables GC");
        assert_eq!(bytes_to_free(&p, FsUsage { capacity_bytes: 0, available_bytes: 0 }), None);
    }

    #[test]
    fn least_recently_used_unused_old_enough_images_go_first_until_enough_is_freed() {
        let p = Policy::default();
        let now = 10_000;
        let mut in_use = image("in-use", 10, 0, 0);
        in_use.in_use = true;
        let mut pause = image("pause", 1, 0, 0);
        pause.pinned = true;
        let images = vec![
            in_use,
            pause,
            image("newest-use", 2, 0, 9_000),
            image("oldest-use", 2, 0, 1_000),
            image("middle-use", 2, 100, 5_000),
            image("just-pulled", 5, now - 60, now - 60),
        ];
        let (chosen, freed) = select(&p, &images, 3 * GIB, now);
        assert_eq!(chosen, ["oldest-use", "middle-use"], "LRU order, stopping once enough is freed");
        assert_eq!(freed, 4 * GIB);
        let (all, freed) = select(&p, &images, 100 * GIB, now);
        assert_eq!(all, ["oldest-use", "middle-use", "newest-use"], "never in-use, pinned or too-young images");
        assert_eq!(freed, 6 * GIB, "falls short when too little is removable");
        assert_eq!(select(&p, &images, 0, now).0, Vec::<String>::new());
    }

    fn runtime_image(id: &str, tag: &str, size: u64) -> Image {
        Image { id: id.into(), repo_tags: vec![tag.into()], size_bytes: size, ..Default::default() }
    }

    fn container_of(image_ref: &str) -> ContainerStatus {
        ContainerStatus {
            id: format!("c-{image_ref}"),
            sandbox_id: "s".into(),
            name: "c".into(),
            attempt: 0,
            state: runtime::ContainerState::Exited,
            created_at: 0,
            started_at: 0,
            finished_at: 0,
            exit_code: 0,
            reason: String::new(),
            message: String::new(),
            image: String::new(),
            image_ref: image_ref.into(),
            labels: Default::default(),
        }
    }

    fn record<'a>(records: &'a [ImageRecord], id: &str) -> &'a ImageRecord {
        records.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no record of {id} in {records:?}"))
    }

    #[test]
    fn first_detection_sticks_and_last_use_follows_the_containers() {
        let mut t = Tracker::default();
        let images = [runtime_image("sha256:a", "a:1", 1), runtime_image("sha256:b", "b:1", 2)];
        let r = t.observe(&images, &[container_of("sha256:a")], &[], 100);
        assert_eq!((record(&r, "sha256:a").first_detected, record(&r, "sha256:a").last_used), (100, 100));
        assert!(record(&r, "sha256:a").in_use);
        assert_eq!((record(&r, "sha256:b").first_detected, record(&r, "sha256:b").last_used), (100, 0), "never used");
        assert!(!record(&r, "sha256:b").in_use);

        // Later the container of a is gone and one of b (named by tag) exists.
        let mut by_tag = container_of("");
        by_tag.image = "b:1".into();
        let r = t.observe(&images, &[by_tag], &[], 400);
        let (a, b) = (record(&r, "sha256:a"), record(&r, "sha256:b"));
        assert_eq!((a.first_detected, a.last_used, a.in_use), (100, 100, false), "last used when last seen in use");
        assert_eq!((b.first_detected, b.last_used, b.in_use), (100, 400, true), "first detection does not move");

        // b disappears from the runtime, then comes back: detected anew.
        let r = t.observe(&images[..1], &[], &[], 700);
        assert_eq!(r.len(), 1);
        let r = t.observe(&images, &[], &[], 1000);
        assert_eq!((record(&r, "sha256:b").first_detected, record(&r, "sha256:b").last_used), (1000, 0));
        assert_eq!(record(&r, "sha256:a").first_detected, 100);
    }

    #[test]
    fn the_sandbox_image_and_runtime_pinned_images_are_pinned() {
        let mut t = Tracker::default();
        let mut pinned = runtime_image("sha256:p", "example.com/keep:1", 1);
        pinned.pinned = true;
        let images = [
            runtime_image("sha256:pause", "registry.k8s.io/pause:3.10", 1),
            runtime_image("sha256:short", "docker.io/library/pause:3.9", 1),
            runtime_image("sha256:other", "docker.io/library/busybox:latest", 1),
            pinned,
        ];
        let sandbox = ["registry.k8s.io/pause:3.10".to_owned(), "pause:3.9".to_owned()];
        let r = t.observe(&images, &[], &sandbox, 0);
        assert!(record(&r, "sha256:pause").pinned, "the runtime's sandbox image");
        assert!(record(&r, "sha256:short").pinned, "a short sandbox reference names the fully qualified tag");
        assert!(record(&r, "sha256:p").pinned, "pinned by the runtime");
        assert!(!record(&r, "sha256:other").pinned);
        assert_eq!(normalize_reference("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(normalize_reference("me/app:2"), "docker.io/me/app:2");
        assert_eq!(normalize_reference("localhost:5000/app"), "localhost:5000/app:latest");
    }

    #[test]
    fn failures_post_upstreams_events_and_image_gc_failed_only_when_repeated() {
        let short = GcError::NotEnoughFreed { wanted: 10, freed: 4 };
        assert_eq!(
            failure_events(&short, false),
            [(
                REASON_FREE_DISK_SPACE_FAILED,
                "Failed to garbage collect required amount of images. Attempted to free 10 bytes, but only found 4 bytes eligible to free.".to_owned()
            )]
        );
        let reasons = |e: &GcError, before| failure_events(e, before).into_iter().map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(reasons(&short, true), [REASON_FREE_DISK_SPACE_FAILED, REASON_IMAGE_GC_FAILED]);
        assert_eq!(reasons(&GcError::InvalidCapacity, false), [REASON_INVALID_DISK_CAPACITY]);
        let removal = GcError::RemoveFailed { wanted: 10, freed: 0, errors: vec!["a".into(), "b".into()] };
        assert!(reasons(&removal, false).is_empty());
        assert_eq!(
            failure_events(&removal, true),
            [(
                REASON_IMAGE_GC_FAILED,
                "wanted to free 10 bytes, but freed 0 bytes space with errors in image deletion: [a, b]".to_owned()
            )]
        );
    }

    #[tokio::test]
    async fn a_pass_waits_for_the_minimum_age_then_frees_down_to_the_low_threshold() {
        use crate::runtime::Runtime;
        use crate::runtime::fake::{FakeConfig, FakeRuntime, SANDBOX_IMAGE};
        let fake = std::sync::Arc::new(FakeRuntime::new(FakeConfig::default()));
        let old = fake.add_image("old:1", 3 * GIB, false);
        let older = fake.add_image("older:1", 2 * GIB, false);
        let pause = fake.add_image(SANDBOX_IMAGE, GIB, false);
        let ids = |images: Vec<Image>| images.into_iter().map(|i| i.id).collect::<Vec<_>>();
        // 20 GiB: 11 used by other files and 6 by images is 85%, 1 GiB over 80%.
        fake.set_image_fs(20 * GIB, 11 * GIB);
        let mut m = Manager::new(fake.clone(), Policy::default());
        let t0 = 1_000_000;
        let e = m.garbage_collect_at(t0).await.unwrap_err();
        assert!(
            matches!(e, GcError::NotEnoughFreed { wanted, freed: 0 } if wanted == GIB),
            "images first seen now are younger than the minimum age: {e}"
        );
        assert_eq!(fake.list_images().await.unwrap().len(), 3);

        // older is used by a container seen at t0 + 60; old never is.
        let sb = fake.run_pod_sandbox(&Default::default()).await.unwrap();
        let config = runtime::ContainerConfig { image: "older:1".into(), ..Default::default() };
        let c = fake.create_container(&sb, &config, &Default::default()).await.unwrap();
        m.detect(t0 + 60).await.unwrap();
        fake.remove_container(&c).await.unwrap();

        fake.set_image_fs(20 * GIB, 10 * GIB);
        assert_eq!(m.garbage_collect_at(t0 + 300).await.unwrap(), Freed::default(), "80% is under the high threshold");

        fake.set_image_fs(20 * GIB, 11 * GIB);
        let freed = m.garbage_collect_at(t0 + 600).await.unwrap();
        assert_eq!(freed, Freed { removed: vec![old.clone()], bytes: 3 * GIB }, "the never-used image goes first");
        assert_eq!(ids(fake.list_images().await.unwrap()), [older.clone(), pause.clone()]);

        // 16 + 3 of 20 is 95%: 3 GiB wanted, only older (2 GiB) is removable.
        fake.set_image_fs(20 * GIB, 16 * GIB);
        let e = m.garbage_collect_at(t0 + 900).await.unwrap_err();
        assert!(
            matches!(e, GcError::NotEnoughFreed { wanted, freed } if wanted == 3 * GIB && freed == 2 * GIB),
            "the sandbox image is never removed: {e}"
        );
        assert_eq!(ids(fake.list_images().await.unwrap()), [pause]);
    }

    #[test]
    fn ties_on_last_use_go_by_first_detection() {
        let (chosen, _) = select(&Policy::default(), &[image("b", 1, 200, 500), image("a", 1, 100, 500)], GIB, 10_000);
        assert_eq!(chosen, ["a"]);
    }
}
