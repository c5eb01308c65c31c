//! Who may hold an ingest connection before showing the stream key.
//!
//! Every accepted connection gets a [`Ticket`] until it publishes with the right key (or
//! closes). Pending connections are capped per IP address and in total; when a new one would
//! pass a cap, the relay closes the *least advanced, oldest* pending connection instead of
//! refusing the newcomer (for the total cap: from the address holding the most). An idle socket
//! never advances (it sits at [`Stage::Accepted`]), nor does one that sends half a handshake, so
//! strangers holding sockets open only push each other out, while OBS, whose first packet is a
//! whole handshake, moves past them at its first read and is the last to go. Refusing the
//! newest instead (the relay's first design) let 16 idle sockets lock OBS out for good.
//!
//! Limit: a stranger that speaks the protocol as far as OBS does (handshake, `connect`) from
//! the same address competes with it on age; from other addresses, the per-address cap keeps
//! it to its own share.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How far a pending connection has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    Accepted,
    /// Sent a whole first handshake packet (C0 + C1) and got our answer.
    Greeted,
    /// Completed the RTMP handshake.
    Handshaken,
    /// Sent `connect` for the right application.
    Connected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    pub(crate) total: usize,
    pub(crate) per_ip: usize,
}

impl Caps {
    /// A pending connection holds a few KiB, so 256 of them cost about a megabyte or two, and
    /// a file descriptor each.
    pub(crate) const DEFAULT: Caps = Caps { total: 256, per_ip: 64 };
}

struct Entry {
    id: u64,
    ip: IpAddr,
    stage: Stage,
    since: Instant,
    evict: CancellationToken,
}

pub(crate) struct Admission {
    caps: Caps,
    entries: Mutex<(u64, Vec<Entry>)>,
}

impl Admission {
    pub(crate) fn new(caps: Caps) -> Arc<Self> {
        Arc::new(Admission { caps, entries: Mutex::new((0, Vec::new())) })
    }

    /// Admit a new connection from `ip`, closing older pending ones past the caps. Returns the
    /// ticket and how many connections were evicted for it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> (Ticket, usize) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (next, entries) = &mut *guard;
        *next += 1;
        let id = *next;
        let evict = CancellationToken::new();
        let mut evicted = 0;
        while entries.iter().filter(|e| e.ip == ip).count() >= self.caps.per_ip {
            match evict_one(entries, |e| e.ip == ip) {
                0 => break,
                n => evicted += n,
            }
        }
        while entries.len() >= self.caps.total {
            let heaviest = heaviest_ip(entries);
            match evict_one(entries, |e| Some(e.ip) == heaviest) {
                0 => break,
                n => evicted += n,
            }
        }
        entries.push(Entry { id, ip, stage: Stage::Accepted, since: Instant::now(), evict: evict.clone() });
        (Ticket { admission: self.clone(), id, evict }, evicted)
    }

    fn with_entry(&self, id: u64, f: impl FnOnce(&mut Vec<Entry>, Option<usize>)) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut guard.1;
        let i = entries.iter().position(|e| e.id == id);
        f(entries, i);
    }

    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.entries.lock().unwrap().1.len()
    }
}

/// The address with the most pending connections.
fn heaviest_ip(entries: &[Entry]) -> Option<IpAddr> {
    let mut counts: std::collections::HashMap<IpAddr, usize> = std::collections::HashMap::new();
    for e in entries {
        *counts.entry(e.ip).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(ip, _)| ip)
}

/// Remove the least advanced, oldest entry that matches and tell its task to close.
fn evict_one(entries: &mut Vec<Entry>, matches: impl Fn(&Entry) -> bool) -> usize {
    let victim =
        entries.iter().enumerate().filter(|(_, e)| matches(e)).min_by_key(|(_, e)| (e.stage, e.since));
    let Some((i, _)) = victim else { return 0 };
    entries.swap_remove(i).evict.cancel();
    1
}

/// A pending connection's place; dropping it (or [`Ticket::authenticated`]) frees the place.
pub(crate) struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    evict: CancellationToken,
}

impl Ticket {
    /// Fires when a newer connection took this one's place.
    pub(crate) fn evicted(&self) -> &CancellationToken {
        &self.evict
    }

    pub(crate) fn advance(&self, stage: Stage) {
        self.admission.with_entry(self.id, |entries, i| {
            if let Some(i) = i {
                entries[i].stage = entries[i].stage.max(stage);
            }
        });
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.with_entry(self.id, |entries, i| {
            if let Some(i) = i {
                entries.swap_remove(i);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn the_newcomer_is_admitted_and_the_least_advanced_oldest_goes() {
        let adm = Admission::new(Caps { total: 4, per_ip: 3 });
        let (a, _) = adm.admit(ip(1));
        let (b, _) = adm.admit(ip(1));
        let (c, _) = adm.admit(ip(1));
        a.advance(Stage::Handshaken); // a is further along than b and c
        let (d, evicted) = adm.admit(ip(1));
        assert_eq!(evicted, 1);
        assert!(b.evicted().is_cancelled(), "the oldest idle one goes");
        assert!(!a.evicted().is_cancelled() && !c.evicted().is_cancelled() && !d.evicted().is_cancelled());
        // The total cap counts every address and takes from the one holding the most.
        let (e, evicted) = adm.admit(ip(2));
        assert_eq!((evicted, adm.pending()), (0, 4));
        let (_f, evicted) = adm.admit(ip(3));
        assert_eq!(evicted, 1);
        assert!(c.evicted().is_cancelled());
        assert!(!e.evicted().is_cancelled() && !a.evicted().is_cancelled());
        drop((a, b, c, d, e));
        assert_eq!(adm.pending(), 1);
    }

    #[test]
    fn a_lone_connection_survives_a_flood_from_other_addresses() {
        let adm = Admission::new(Caps { total: 8, per_ip: 4 });
        let (obs, _) = adm.admit(IpAddr::from([127, 0, 0, 1]));
        let mut flood = Vec::new();
        for i in 0..1000u32 {
            flood.push(adm.admit(ip((i % 3) as u8)).0);
            flood.retain(|t| !t.evicted().is_cancelled());
        }
        assert!(!obs.evicted().is_cancelled());
    }

    #[test]
    fn a_publisher_getting_through_survives_a_flood_of_idle_sockets() {
        let adm = Admission::new(Caps::DEFAULT);
        let mut strangers: Vec<Ticket> = (0..300).map(|_| adm.admit(ip(9)).0).collect();
        let (obs, _) = adm.admit(ip(9));
        obs.advance(Stage::Greeted);
        for _ in 0..1000 {
            strangers.push(adm.admit(ip(9)).0);
            strangers.retain(|t| !t.evicted().is_cancelled());
        }
        assert!(!obs.evicted().is_cancelled());
        assert!(adm.pending() <= Caps::DEFAULT.per_ip);
    }
}
