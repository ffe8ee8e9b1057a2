//! Key layout helpers: directory prefixes, range ends and the value limit.

use crate::{Error, Result};

/// Largest value a backend accepts (1.5 MiB, etcd's default request limit).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024 * 3 / 2;

/// Normalises a list or watch prefix to a directory: `/registry/pods/default`
/// and `/registry/pods/default/` both become `/registry/pods/default/`, so
/// that a prefix never matches a sibling whose name merely starts the same
/// (`…/default/a/` does not match `…/default/ab`).
pub fn dir_prefix(prefix: &str) -> String {
    if prefix.ends_with('/') { prefix.to_owned() } else { format!("{prefix}/") }
}

/// The smallest key greater than every key starting with `prefix`
/// (`prefix` must end in `/`, so the result is `prefix` with `/` → `0`).
pub(crate) fn range_end(prefix: &str) -> String {
    debug_assert!(prefix.ends_with('/'));
    let mut end = prefix[..prefix.len() - 1].to_owned();
    end.push('0');
    end
}

pub(crate) fn check_size(key: &str, value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::TooLarge { key: key.to_owned(), size: value.len(), limit: MAX_VALUE_BYTES });
    }
    Ok(())
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || !key.starts_with('/') || key.ends_with('/') {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
            reason: "keys are absolute paths that do not end in '/'",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_prefix_adds_one_trailing_slash() {
        assert_eq!(dir_prefix("/registry/pods"), "/registry/pods/");
        assert_eq!(dir_prefix("/registry/pods/"), "/registry/pods/");
    }

    #[test]
    fn range_end_bounds_the_directory_only() {
        let end = range_end("/registry/pods/default/a/");
        assert_eq!(end, "/registry/pods/default/a0");
        assert!("/registry/pods/default/a/x".as_bytes() < end.as_bytes());
        assert!("/registry/pods/default/ab".as_bytes() > end.as_bytes());
    }
}
