//! Progress bars for long work, shown only on a terminal.
//!
//! Knows nothing of what the work is: callers advance the bar by bytes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work below this many bytes finishes too fast to need a bar.
const MIN_BYTES: u64 = 64 << 20;

/// A byte-counting bar on stderr, or a hidden one when stderr is not a
/// terminal or the work is small.
pub(crate) fn bytes_bar(total: u64, label: &str) -> ProgressBar {
    if total < MIN_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// Total size of the named files (stdin and unreadable names count 0).
pub(crate) fn total_size(names: &[String]) -> u64 {
    names
        .iter()
        .filter(|n| n.as_str() != "-")
        .filter_map(|n| std::fs::metadata(n).ok())
        .map(|m| m.len())
        .sum()
}
