//! Container logs for the kubelet API's `/containerLogs/<ns>/<pod>/<container>`:
//! reads the CRI log files the runtime writes under the pod's log directory
//! (`<container>/<attempt>.log`, lines `<RFC3339Nano> <stream> <P|F> <text>`)
//! and applies `tailLines`, `sinceSeconds`, `timestamps`, `limitBytes` and
//! `previous` as upstream's `kuberuntime_logs.go`; `follow` polls the file.

use std::path::{Path, PathBuf};

/// One log line as the runtime wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub time: String,
    pub stream: String,
    /// `false` for a partial line (`P`) that continues in the next entry.
    pub full: bool,
    pub text: String,
}

/// Query options, with upstream's names.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    #[serde(default)]
    pub follow: bool,
    #[serde(default)]
    pub previous: bool,
    #[serde(default)]
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub limit_bytes: Option<i64>,
}

/// Parses one CRI log line.
pub fn parse_line(line: &str) -> Option<Line> {
    let mut parts = line.splitn(4, ' ');
    let time = parts.next()?.to_owned();
    let stream = parts.next()?.to_owned();
    let tag = parts.next()?;
    let text = parts.next().unwrap_or("").to_owned();
    Some(Line { time, stream, full: !tag.starts_with('P'), text })
}

/// The log file of a container: the newest attempt, or the one before with `previous`.
pub fn log_file(container_dir: &Path, previous: bool) -> Option<PathBuf> {
    let mut attempts: Vec<(u32, PathBuf)> = std::fs::read_dir(container_dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_suffix(".log")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    attempts.sort();
    let idx = if previous { attempts.len().checked_sub(2)? } else { attempts.len().checked_sub(1)? };
    attempts.get(idx).map(|(_, p)| p.clone())
}

/// Renders log file content per `opts` (without follow).
pub fn render(content: &str, opts: &Options) -> String {
    let since =
        opts.since_seconds.filter(|s| *s > 0).map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s));
    let mut lines: Vec<String> = Vec::new();
    let mut pending = String::new();
    for raw in content.lines() {
        let Some(line) = parse_line(raw) else { continue };
        if let Some(since) = since
            && line.time.parse::<jiff::Timestamp>().is_ok_and(|t| t < since)
        {
            continue;
        }
        if pending.is_empty() && opts.timestamps {
            pending.push_str(&line.time);
            pending.push(' ');
        }
        pending.push_str(&line.text);
        if line.full {
            pending.push('\n');
            lines.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        lines.push(pending);
    }
    if let Some(n) = opts.tail_lines.filter(|n| *n >= 0) {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        lines = lines.split_off(lines.len().saturating_sub(n));
    }
    let mut out = lines.concat();
    if let Some(limit) = opts.limit_bytes.filter(|l| *l > 0) {
        let mut limit = usize::try_from(limit).unwrap_or(usize::MAX).min(out.len());
        while !out.is_char_boundary(limit) {
            limit -= 1;
        }
        out.truncate(limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2026-01-01T00:00:00.000000001Z stdout F one\n\
                       2026-01-01T00:00:01.000000001Z stderr P two-\n\
                       2026-01-01T00:00:01.000000002Z stderr F parts\n\
                       2026-01-01T00:00:02.000000001Z stdout F three\n";

    #[test]
    fn renders_lines_joining_partials() {
        assert_eq!(render(LOG, &Options::default()), "one\ntwo-parts\nthree\n");
        let tail = Options { tail_lines: Some(1), ..Default::default() };
        assert_eq!(render(LOG, &tail), "three\n");
        let ts = Options { timestamps: true, tail_lines: Some(1), ..Default::default() };
        assert_eq!(render(LOG, &ts), "2026-01-01T00:00:02.000000001Z three\n");
        let limit = Options { limit_bytes: Some(5), ..Default::default() };
        assert_eq!(render(LOG, &limit), "one\nt");
        let since = Options { since_seconds: Some(60), ..Default::default() };
        assert_eq!(render(LOG, &since), "", "all lines are older than a minute");
    }

    #[test]
    fn picks_the_newest_or_previous_attempt() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, 10] {
            std::fs::write(dir.path().join(format!("{n}.log")), "").unwrap();
        }
        assert_eq!(log_file(dir.path(), false).unwrap(), dir.path().join("10.log"));
        assert_eq!(log_file(dir.path(), true).unwrap(), dir.path().join("1.log"));
    }
}
