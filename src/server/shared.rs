//! What the accept loop and every worker share: the handler, the options,
//! the counters, and the state of the server as a whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::stats::ServerStats;

use super::access_log::AccessLog;
use super::budget::BodyBudget;
use super::idle::IdleConnections;
use super::options::ServerOptions;

/// What the accept loop and every worker share.
pub(super) struct Shared<H> {
    pub(super) handler: H,
    pub(super) options: ServerOptions,
    pub(super) body_budget: BodyBudget,
    pub(super) stats: Arc<ServerStats>,
    pub(super) shutting_down: Arc<AtomicBool>,
    pub(super) access_log: Option<AccessLog>,
    /// Connections waiting for their next request, to reclaim when needed.
    pub(super) idle: IdleConnections,
}

impl<H> Shared<H> {
    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }
}
