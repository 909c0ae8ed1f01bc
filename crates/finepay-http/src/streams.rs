//! Caps on open event streams (`GET /api/v1/notifications/stream`): each holds a connection for as
//! long as the client likes, so without a cap a few clients could hold them all. A stream takes a
//! slot for its whole life; the slot is given back when the stream is dropped.

use crate::error::ApiError;
use finepay_core::CoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many streams may be open: in all, and per user.
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    pub total: usize,
    pub per_user: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            total: 10_000,
            per_user: 5,
        }
    }
}

/// The open streams, counted per user.
#[derive(Debug, Default)]
pub struct StreamSlots {
    limits: StreamLimits,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// A stream's slot; given back on drop.
pub struct Slot {
    slots: Arc<StreamSlots>,
    user: String,
}

impl StreamSlots {
    pub fn new(limits: StreamLimits) -> Arc<StreamSlots> {
        Arc::new(StreamSlots {
            limits,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A slot for one more stream of `user`: 429 when the user has their share open, 503 when
    /// the server has all it takes.
    pub fn take(self: &Arc<Self>, user: &str) -> Result<Slot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_user) = &mut *open;
        let mine = per_user.get(user).copied().unwrap_or(0);
        if mine >= self.limits.per_user {
            return Err(ApiError(CoreError::RateLimited { retry_after_s: 60 }));
        }
        if *total >= self.limits.total {
            return Err(ApiError(CoreError::Busy));
        }
        *total += 1;
        per_user.insert(user.to_string(), mine + 1);
        Ok(Slot {
            slots: self.clone(),
            user: user.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_user) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_user.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}
