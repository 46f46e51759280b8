//! [`LocalEventBus`]: a [`SessionEventBus`] inside one process, for tests of several `Auth`
//! instances sharing a store, with switches to lose messages and to drop the subscriptions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::session_cache::{SessionEvent, SessionEventBus, SessionEventListener};
use crate::store::StoreError;

/// An in-process bus: every `Auth` built with a clone of it hears every other's events.
///
/// For tests of what a real bus can do wrong: [`LocalEventBus::lose_messages`] makes
/// publishing succeed without delivering (a message lost in flight), and
/// [`LocalEventBus::set_connected`] takes every subscription down or up (a broken
/// connection), which the subscribers report to their caches.
#[derive(Clone)]
pub struct LocalEventBus {
    inner: Arc<Inner>,
}

struct Inner {
    sender: broadcast::Sender<Message>,
    losing: AtomicBool,
    connected: AtomicBool,
    published: AtomicU64,
    delivered: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
enum Message {
    Event(SessionEvent),
    Down,
    Up,
}

impl Default for LocalEventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LocalEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEventBus")
            .field("published", &self.published())
            .finish_non_exhaustive()
    }
}

impl LocalEventBus {
    /// A connected bus that delivers every message.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                sender,
                losing: AtomicBool::new(false),
                connected: AtomicBool::new(true),
                published: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
            }),
        }
    }

    /// From now on, published events are lost (`true`) or delivered again (`false`).
    pub fn lose_messages(&self, lose: bool) {
        self.inner.losing.store(lose, Ordering::SeqCst);
    }

    /// Takes every subscription down (`false`: each subscriber reports itself disconnected,
    /// and events published meanwhile are lost) or brings them back up (`true`).
    pub fn set_connected(&self, connected: bool) {
        self.inner.connected.store(connected, Ordering::SeqCst);
        let _ = self.inner.sender.send(if connected {
            Message::Up
        } else {
            Message::Down
        });
    }

    /// How many events were published (lost ones included).
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::SeqCst)
    }

    /// How many events subscribers have applied, summed over subscribers.
    pub fn delivered(&self) -> u64 {
        self.inner.delivered.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SessionEventBus for LocalEventBus {
    async fn publish(&self, event: SessionEvent) -> Result<(), StoreError> {
        let _ = self.inner.published.fetch_add(1, Ordering::SeqCst);
        if self.inner.losing.load(Ordering::SeqCst) || !self.inner.connected.load(Ordering::SeqCst)
        {
            return Ok(());
        }
        // No receivers is not an error: no other instance has subscribed yet.
        let _ = self.inner.sender.send(Message::Event(event));
        Ok(())
    }

    fn subscribe(&self, listener: SessionEventListener) -> Result<(), StoreError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Unavailable("no Tokio runtime to listen on".to_owned()))?;
        let mut receiver = self.inner.sender.subscribe();
        let inner = Arc::clone(&self.inner);
        if inner.connected.load(Ordering::SeqCst) {
            listener.connected();
        }
        drop(runtime.spawn(async move {
            loop {
                let message = tokio::select! {
                    message = receiver.recv() => message,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        if listener.is_closed() {
                            return;
                        }
                        continue;
                    }
                };
                match message {
                    Ok(Message::Event(event)) => {
                        listener.event(event);
                        let _ = inner.delivered.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Message::Down) => listener.disconnected(),
                    Ok(Message::Up) => listener.connected(),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Messages were lost: as a real bus would after a reconnection.
                        listener.disconnected();
                        listener.connected();
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        listener.disconnected();
                        return;
                    }
                }
            }
        }));
        Ok(())
    }
}
