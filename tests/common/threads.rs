//! The context switches of the server's threads, for a test and a bench
//! that show an idle server sleeping (`src/server/idle.rs`). Shared by
//! path (`#[path]`) rather than through `common`, so that a bench can use
//! it without the test harness.

use std::fs;

/// Context switches so far of this process's server threads (named
/// `httpdb-…`), from `/proc/self/task/*/status` (Linux): voluntary and not.
pub fn server_context_switches() -> u64 {
    let mut total = 0;
    for task in fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let task = task.expect("a task").path();
        let name = fs::read_to_string(task.join("comm")).unwrap_or_default();
        if !name.starts_with("httpdb-") {
            continue;
        }
        let status = fs::read_to_string(task.join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|line| line.contains("ctxt_switches"))
            .filter_map(|line| line.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}
