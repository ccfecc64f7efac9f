// SPDX-License-Identifier: GPL-2.0

//! A group: its socket, its members, and the fan-out of a datagram.

use crate::{
    request::{self, Address, NO_LOOP},
    skb::{Datagram, SkbClone},
    sock::{same, Charge, GroupFile, Sock},
};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    alloc::flags::{GFP_KERNEL_ACCOUNT, GFP_NOWAIT},
    ffi::c_long,
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};

/// The most members a group has: every member's clone of a datagram takes a
/// reference to its shared data, and `skb_shinfo()->dataref` counts them in
/// 16 bits (`SKB_DATAREF_SHIFT`); the other half of that range is left to
/// the other users of the datagram. A join beyond it fails with `ENOBUFS`.
pub(crate) const MAX_MEMBERS: usize = 1 << 15;

/// One member of a group.
#[derive(Clone)]
pub(crate) struct Member {
    sk: ARef<Sock>,
    flags: u32,
}

impl Member {
    fn blocking(&self) -> bool {
        request::blocking(self.flags)
    }

    /// Whether a datagram sent by `sender` is delivered to this member.
    fn wants_from(&self, sender: &Sock) -> bool {
        !same(&self.sk, sender) || self.flags & NO_LOOP == 0
    }
}

/// The clones of the datagram being sent, with their member's index.
type Scratch = KVVec<(SkbClone, usize)>;

/// The state of a group that its lock protects.
///
/// # Invariants
///
/// - `file` and `charge` are `Some` from the group's creation until it dies,
///   which is when its last member leaves (or it is abandoned before any
///   joined); its socket is unhashed, so its address free, before they are
///   taken out.
/// - `scratch` is empty whenever the lock is free, and has room for at least
///   `members.len()` clones, so that a send allocates nothing but the clones.
struct GroupInner {
    file: Option<GroupFile>,
    /// What the group costs its creator, given back when it dies (not when
    /// the last reference to it goes: a dead group's socket may linger as
    /// the peer of sockets connected to it).
    charge: Option<Charge>,
    members: KVVec<Member>,
    scratch: Scratch,
}

/// What a group left when it died, to drop once its lock is released: its
/// socket's file (the last `fput()` releases the socket) and its charge.
pub(crate) struct Death {
    _file: GroupFile,
    _charge: Option<Charge>,
}

/// A multicast group.
///
/// # Locking
///
/// `inner` is the group's own mutex. It is taken after the memberships lock
/// of a joining or leaving socket (see `registry.rs`), and before a member's
/// `unix_state_lock()` (taken by the C primitives). Nothing that waits on a
/// filesystem, or on another group, runs under it: a group is created and
/// bound before it is locked, and the member array grows into arrays
/// allocated with the lock dropped, so a join or a leave allocates nothing
/// under it. What runs under it: copying the members into a larger array
/// (once per doubling of the group), and a send's fan-out, which still
/// allocates its clones (`GFP_KERNEL`, so possibly with reclaim) and runs
/// the members' filters and LSM checks under it; the next revision takes
/// those out of it.
///
/// # Invariants
///
/// The group's socket owns one reference (`GroupFile::attach()`), and each
/// member's membership (see `registry.rs`) one.
#[pin_data]
pub(crate) struct Group {
    #[pin]
    inner: Mutex<GroupInner>,
    /// Changes whenever a member leaves, so that a sender waiting for that
    /// member's room stops waiting.
    seq: AtomicU32,
}

/// What a group's membership change left to do once its lock is dropped.
pub(crate) enum Added {
    /// `sk` is a member.
    Yes,
    /// The group died before `sk` could join: look its address up again.
    Dead,
}

impl Group {
    fn new(charge: Charge, members: KVVec<Member>, scratch: Scratch) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner <- new_mutex!(GroupInner {
                file: None,
                charge: Some(charge),
                members,
                scratch,
            }, "unix_mcast_group"),
            seq: AtomicU32::new(0),
        })
    }

    /// Creates a group at `addr` in the network namespace of `creator`, for
    /// the current task: it is charged to its user, its socket is created
    /// with its credentials, and bound with `bind()`'s checks. No lock is
    /// held while it is bound. It has no member yet, and room for its first,
    /// so that once its address is bound the creator's join cannot fail for
    /// want of memory and leave a socket file behind.
    pub(crate) fn create(creator: &Sock, addr: &Address) -> Result<Arc<Group>> {
        let members = KVVec::with_capacity(1, GFP_KERNEL_ACCOUNT)?;
        let scratch = KVVec::with_capacity(1, GFP_KERNEL_ACCOUNT)?;
        let grp = Arc::pin_init(
            Group::new(Charge::new()?, members, scratch),
            GFP_KERNEL_ACCOUNT,
        )?;
        let file = GroupFile::create(creator)?;
        file.attach(grp.clone());
        // Keep the socket while it is bound; the group owns its file.
        let sk: ARef<Sock> = file.sock().into();
        grp.inner.lock().file = Some(file);
        if let Err(e) = sk.bind_group(addr) {
            drop(grp.abandon());
            return Err(e);
        }
        Ok(grp)
    }

    /// Adds `sk` as a member. When the member array is full, larger arrays
    /// are allocated with the group's lock dropped (an allocation may enter
    /// reclaim, and every member's close() takes that lock), and the members
    /// are copied into them once it is taken again; nothing fails once `sk`
    /// is a member.
    pub(crate) fn add(&self, sk: &Sock, flags: u32) -> Result<Added> {
        let mut spare: Option<(KVVec<Member>, Scratch)> = None;
        loop {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            if inner.file.is_none() {
                return Ok(Added::Dead);
            }
            let n = inner.members.len() + 1;
            if n > MAX_MEMBERS {
                return Err(ENOBUFS);
            }
            if inner.members.capacity() < n || inner.scratch.capacity() < n {
                match spare.take() {
                    Some((mut members, scratch))
                        if members.capacity() >= n && scratch.capacity() >= n =>
                    {
                        // The new array has room, so this does not
                        // allocate; were it to fail, the group would keep
                        // its old array and members.
                        members.extend_from_slice(&inner.members, GFP_NOWAIT)?;
                        inner.members = members;
                        // By the type invariant the old `scratch` is empty.
                        inner.scratch = scratch;
                    }
                    too_small => {
                        drop(too_small);
                        // Double the arrays, so that this happens once per
                        // doubling of the group.
                        let cap = n.max(inner.members.capacity() * 2).min(MAX_MEMBERS);
                        drop(guard);
                        spare = Some((
                            KVVec::with_capacity(cap, GFP_KERNEL_ACCOUNT)?,
                            KVVec::with_capacity(cap, GFP_KERNEL_ACCOUNT)?,
                        ));
                        continue;
                    }
                }
            }
            let member = Member {
                sk: sk.into(),
                flags,
            };
            // Cannot fail: there is room.
            inner
                .members
                .push_within_capacity(member)
                .map_err(|_| ENOMEM)?;
            return Ok(Added::Yes);
        }
    }

    /// Removes `sk` from the members and wakes the senders waiting for its
    /// room. If it was the last member the group dies: its address is free
    /// on return, and the caller drops what it left with no lock held.
    pub(crate) fn remove(&self, sk: &Sock) -> Option<Death> {
        let mut inner = self.inner.lock();
        inner.members.retain(|m| !same(&m.sk, sk));
        self.seq.fetch_add(1, Ordering::Release);
        let dead = Self::die_if_empty(&mut inner);
        drop(inner);
        sk.wake_senders();
        dead
    }

    /// Lets a group that no one joined die.
    pub(crate) fn abandon(&self) -> Option<Death> {
        Self::die_if_empty(&mut self.inner.lock())
    }

    fn die_if_empty(inner: &mut GroupInner) -> Option<Death> {
        if !inner.members.is_empty() {
            return None;
        }
        let file = inner.file.take()?;
        file.unhash();
        // A dead group keeps nothing it does not need.
        inner.members = KVVec::new();
        inner.scratch = KVVec::new();
        Some(Death {
            _file: file,
            _charge: inner.charge.take(),
        })
    }

    /// Sends `skb` to every member: to all blocking members or to none, in
    /// the same order everywhere. A group that died after the caller found
    /// it has no members: the datagram reaches no one.
    pub(crate) fn send(&self, sender: &Sock, skb: &Datagram, timeo: c_long) -> Result {
        let mut timeo = timeo;
        loop {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            if inner.file.is_none() {
                return Ok(());
            }

            // A datagram waits until every blocking member has room. As for
            // unicast, a sender never waits for itself.
            let full = inner
                .members
                .iter()
                .find(|m| m.blocking() && !same(&m.sk, sender) && m.sk.full());
            if let Some(m) = full {
                if timeo == 0 {
                    return Err(EAGAIN);
                }
                let msk = m.sk.clone();
                let seen = self.seq.load(Ordering::Acquire);
                drop(guard);
                timeo = msk.wait_for_room(timeo, &self.seq, seen);
                if kernel::current!().signal_pending() {
                    // MAX_SCHEDULE_TIMEOUT: no timeout, so restart.
                    return Err(if timeo == c_long::MAX {
                        ERESTARTSYS
                    } else {
                        EINTR
                    });
                }
                continue;
            }

            // Make every clone before queueing any.
            let GroupInner {
                members, scratch, ..
            } = inner;
            for (i, m) in members.iter().enumerate() {
                if !m.wants_from(sender) {
                    continue;
                }
                if !m.blocking() && m.sk.full() {
                    m.sk.count_drop();
                    continue;
                }
                if sender.may_send(&m.sk).is_err() {
                    continue;
                }
                let clone = match skb.clone_for(sender, &m.sk, m.blocking()) {
                    Ok(Some(clone)) => clone,
                    // Dropped by the member's socket filter, or by a
                    // drop-when-full member whose receive buffer is full.
                    Ok(None) => continue,
                    Err(e) => {
                        scratch.clear();
                        return Err(e);
                    }
                };
                // The type invariant of `GroupInner` leaves room.
                if scratch.push_within_capacity((clone, i)).is_err() {
                    scratch.clear();
                    return Err(ENOBUFS);
                }
            }
            while let Some((clone, i)) = scratch.pop() {
                members[i].sk.queue(clone);
            }
            return Ok(());
        }
    }
}
