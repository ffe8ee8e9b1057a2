//! Image garbage collection policy, as upstream's image GC manager decides it:
//! when the image filesystem's usage reaches the high threshold, remove unused
//! images, least recently used first, until usage is back to the low threshold.
//! Images in use, pinned images (the sandbox image) and images first seen less
//! than the minimum age ago are never removed. The decision is pure; the loop
//! that feeds it from the runtime is the caller's.

use std::time::Duration;

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
    HighOutOfRange(u8),
    #[error("invalid LowThresholdPercent {0}, must be in range [0-100]")]
    LowOutOfRange(u8),
    #[error("LowThresholdPercent {low} can not be higher than HighThresholdPercent {high}")]
    LowAboveHigh { low: u8, high: u8 },
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
    /// Checks the thresholds as upstream's `NewImageGCManager`.
    pub fn new(high: u8, low: u8, min_age: Duration) -> Result<Self, Error> {
        if high > 100 {
            return Err(Error::HighOutOfRange(high));
        }
        if low > 100 {
            return Err(Error::LowOutOfRange(low));
        }
        if low > high {
            return Err(Error::LowAboveHigh { low, high });
        }
        Ok(Policy { high_threshold_percent: high, low_threshold_percent: low, min_age })
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
    /// When a container last used it (Unix seconds; `first_detected` if never).
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

    #[test]
    fn ties_on_last_use_go_by_first_detection() {
        let (chosen, _) = select(&Policy::default(), &[image("b", 1, 200, 500), image("a", 1, 100, 500)], GIB, 10_000);
        assert_eq!(chosen, ["a"]);
    }
}
