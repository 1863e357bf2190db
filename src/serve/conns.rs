//! The open HTTP connections, oldest first, and which of them has a request in
//! progress. When `max` are open, a new connection makes room by shedding the
//! oldest idle one (no request in progress: a keep-alive pause, or a head still
//! on its way) instead of waiting: a client that holds many idle connections
//! cannot keep Prometheus's scrapes or `/-/healthy` out. When every one of them
//! has a request in progress (slow probes), a few more connections are let in
//! as a reserve (`RESERVE`): each serves one request and only what costs no
//! probe (health, the exporter's metrics), so health checks still get through.
//! Only when the reserve too is busy is a new connection turned away.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::AbortHandle;

/// Connections let in beyond `max` while every one of those has a request in
/// progress.
pub const RESERVE: usize = 16;

pub struct Conns {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next: u64,
    /// By arrival: the first entry is the oldest.
    open: BTreeMap<u64, Entry>,
}

struct Entry {
    busy: Arc<AtomicBool>,
    /// The task serving it; None for the instant between admission and spawn.
    task: Option<AbortHandle>,
    /// Let in from the reserve.
    reserve: bool,
}

/// One admitted connection.
pub struct Ticket {
    pub id: u64,
    /// True while a request on it is in progress (`Busy` sets it).
    pub busy: Arc<AtomicBool>,
    /// From the reserve: one request, and none that starts a probe.
    pub reserve: bool,
}

/// Marks a connection busy while it lives (one request in progress).
pub struct Busy(Arc<AtomicBool>);

impl Busy {
    pub fn new(flag: &Arc<AtomicBool>) -> Busy {
        flag.store(true, Ordering::Release);
        Busy(flag.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Conns {
    pub fn new(max: usize) -> Conns {
        Conns {
            max: max.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Admits a new connection, shedding the oldest idle one when `max` are
    /// open; when every one of those has a request in progress, admits it from
    /// the reserve (shedding the oldest idle one there); None when the reserve
    /// is busy too.
    pub fn admit(&self) -> Option<Ticket> {
        let mut t = self.table.lock().ok()?;
        // Entries whose task has ended on its own are gone already; this only
        // guards against one that ended before it was attached.
        t.open
            .retain(|_, e| e.task.as_ref().is_none_or(|h| !h.is_finished()));
        let reserve = !t.make_room(false, self.max);
        if reserve && !t.make_room(true, RESERVE) {
            return None;
        }
        let id = t.next;
        t.next += 1;
        let busy = Arc::new(AtomicBool::new(false));
        t.open.insert(
            id,
            Entry {
                busy: busy.clone(),
                task: None,
                reserve,
            },
        );
        Some(Ticket { id, busy, reserve })
    }

    /// Names the task that serves connection `id`, so that it can be shed.
    pub fn attach(&self, id: u64, task: AbortHandle) {
        if let Ok(mut t) = self.table.lock() {
            if let Some(e) = t.open.get_mut(&id) {
                e.task = Some(task);
            }
        }
    }

    /// Connection `id` has closed.
    pub fn remove(&self, id: u64) {
        if let Ok(mut t) = self.table.lock() {
            t.open.remove(&id);
        }
    }

    /// Open connections, the reserve's included.
    pub fn open(&self) -> usize {
        self.table.lock().map(|t| t.open.len()).unwrap_or(0)
    }
}

impl Table {
    /// Sheds the oldest idle connections of the pool (`reserve` or not) until
    /// it has fewer than `max`; false when every one left is busy.
    fn make_room(&mut self, reserve: bool, max: usize) -> bool {
        loop {
            let mut in_pool = self.open.iter().filter(|(_, e)| e.reserve == reserve);
            if in_pool.clone().count() < max {
                return true;
            }
            let Some(oldest_idle) = in_pool
                .find(|(_, e)| e.task.is_some() && !e.busy.load(Ordering::Acquire))
                .map(|(id, _)| *id)
            else {
                return false;
            };
            if let Some(e) = self.open.remove(&oldest_idle) {
                if let Some(task) = e.task {
                    task.abort();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_idle_connection_makes_room_and_busy_ones_are_kept() {
        let conns = Conns::new(2);
        let a = conns.admit().expect("room");
        let ta = tokio::spawn(std::future::pending::<()>());
        conns.attach(a.id, ta.abort_handle());
        let b = conns.admit().expect("room");
        let tb = tokio::spawn(std::future::pending::<()>());
        conns.attach(b.id, tb.abort_handle());
        // `a` has a request in progress: `b`, the oldest idle one, is shed.
        let busy = Busy::new(&a.busy);
        let c = conns.admit().expect("room made");
        let tc = tokio::spawn(std::future::pending::<()>());
        conns.attach(c.id, tc.abort_handle());
        assert!(tb.await.expect_err("aborted").is_cancelled());
        assert_eq!(conns.open(), 2);
        assert!(!c.reserve);
        // Every open connection busy: the new ones come from the reserve, and
        // once it is busy too, one is turned away.
        let busy_c = Busy::new(&c.busy);
        let mut held = Vec::new();
        for _ in 0..RESERVE {
            let r = conns.admit().expect("from the reserve");
            assert!(r.reserve);
            let task = tokio::spawn(std::future::pending::<()>());
            conns.attach(r.id, task.abort_handle());
            held.push((Busy::new(&r.busy), task, r));
        }
        assert_eq!(conns.open(), 2 + RESERVE);
        assert!(conns.admit().is_none());
        // An idle reserve connection gives way to a new one, in the reserve.
        let (idle, first, _) = held.remove(0);
        drop(idle);
        let r = conns.admit().expect("the idle reserve one shed");
        assert!(r.reserve);
        assert!(first.await.expect_err("aborted").is_cancelled());
        // A main connection idle again: the next one takes its place there.
        drop(busy);
        let n = conns.admit().expect("a is idle again and shed");
        assert!(!n.reserve);
        assert!(ta.await.expect_err("aborted").is_cancelled());
        drop(busy_c);
        tc.abort();
        for (_, task, _) in held {
            task.abort();
        }
    }
}
