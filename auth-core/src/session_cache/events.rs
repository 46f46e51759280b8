//! Session events: what one app instance tells the others when a cached session check may
//! have become wrong, the [`SessionEventBus`] that carries them (Redis pub/sub, PostgreSQL
//! `LISTEN/NOTIFY`, an in-process bus in the test kit) and the [`SessionEventListener`] a bus
//! delivers them to.

use std::sync::{Arc, Weak};

use async_trait::async_trait;

use super::cache::Shared;
use crate::ids::{SessionId, UserId};
use crate::store::StoreError;

/// A change after which cached session checks may be stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionEvent {
    /// This session was revoked (logout, an administrator's revocation, refresh-token reuse).
    Session(SessionId),
    /// Something the check reads of this user changed (status, roles), or several of its
    /// sessions were revoked at once (logout everywhere, a password change or reset).
    User(UserId),
}

impl SessionEvent {
    /// The event as the text a bus sends: `session:<uuid>` or `user:<uuid>`.
    ///
    /// ```
    /// use auth_core::ids::SessionId;
    /// use auth_core::session_cache::SessionEvent;
    ///
    /// let event = SessionEvent::Session(SessionId::new_random());
    /// assert_eq!(SessionEvent::decode(&event.encode()), Some(event));
    /// assert_eq!(SessionEvent::decode("session:not-a-uuid"), None);
    /// ```
    pub fn encode(&self) -> String {
        match self {
            Self::Session(id) => format!("session:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }

    /// Reads what [`SessionEvent::encode`] wrote; `None` for anything else (a bus passes such
    /// a message to [`SessionEventListener::unreadable`], which empties the cache).
    pub fn decode(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id = uuid::Uuid::try_parse(id).ok()?;
        match kind {
            "session" => Some(Self::Session(SessionId::from_uuid(id))),
            "user" => Some(Self::User(UserId::from_uuid(id))),
            _ => None,
        }
    }
}

/// Carries [`SessionEvent`]s between the app instances that share a store, so each can keep
/// a local cache of session checks (see the [module](super) documentation).
///
/// A bus makes no promise of delivery: a lost message leaves a stale answer in a cache for at
/// most [`SessionCacheConfig::max_age`](super::SessionCacheConfig::max_age). What it must do
/// is tell the listener the truth about its subscription: call
/// [`SessionEventListener::connected`] only once messages published from then on will be
/// delivered, and [`SessionEventListener::disconnected`] as soon as it knows they may not be.
#[async_trait]
pub trait SessionEventBus: Send + Sync + 'static {
    /// Sends `event` to every subscribed instance (this one's own subscription included or
    /// not: the core has already applied its own events locally).
    async fn publish(&self, event: SessionEvent) -> Result<(), StoreError>;

    /// Starts delivering events to `listener`, in the background, on the current Tokio
    /// runtime (the core calls this from inside one, at its first session check). The task
    /// subscribes, calls [`connected`](SessionEventListener::connected) once subscribed,
    /// [`event`](SessionEventListener::event) for each message, and
    /// [`disconnected`](SessionEventListener::disconnected) when the subscription is lost,
    /// then subscribes again (with a backoff) until
    /// [`is_closed`](SessionEventListener::is_closed) says nobody listens any more, and then
    /// ends. An `Err` means no task was started; the core tries again later.
    fn subscribe(&self, listener: SessionEventListener) -> Result<(), StoreError>;
}

/// Where a [`SessionEventBus`] delivers events: a handle on one instance's session cache.
/// Cheap to clone. When every clone is dropped (the bus's task ended, e.g. with its
/// runtime), the cache stops answering and the core subscribes again at its next check.
#[derive(Clone)]
pub struct SessionEventListener {
    inner: Arc<ListenerInner>,
}

struct ListenerInner {
    cache: Weak<Shared>,
}

impl Drop for ListenerInner {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            cache.listener_gone();
        }
    }
}

impl std::fmt::Debug for SessionEventListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEventListener")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SessionEventListener {
    pub(super) fn new(cache: &Arc<Shared>) -> Self {
        Self {
            inner: Arc::new(ListenerInner {
                cache: Arc::downgrade(cache),
            }),
        }
    }

    /// The subscription is live: events published from now on will be delivered. The cache
    /// starts empty and answers from now on.
    pub fn connected(&self) {
        if let Some(cache) = self.inner.cache.upgrade() {
            cache.connected();
        }
    }

    /// The subscription is lost (or may be): the cache empties and stops answering until
    /// [`connected`](Self::connected) is called again.
    pub fn disconnected(&self) {
        if let Some(cache) = self.inner.cache.upgrade() {
            cache.disconnected();
        }
    }

    /// An event from another instance: drops the cached checks it makes stale.
    pub fn event(&self, event: SessionEvent) {
        if let Some(cache) = self.inner.cache.upgrade() {
            cache.invalidate(event);
        }
    }

    /// A message on the channel that is not a [`SessionEvent`] (another version of the
    /// library, a corrupted message): the cache empties, since it cannot tell what changed.
    pub fn unreadable(&self) {
        if let Some(cache) = self.inner.cache.upgrade() {
            cache.clear();
        }
    }

    /// `true` once the cache is gone (its `Auth` dropped): the bus's task should end.
    pub fn is_closed(&self) -> bool {
        self.inner.cache.strong_count() == 0
    }
}
