// SPDX-License-Identifier: GPL-2.0

//! A group: its socket, its members, and the fan-out of a datagram.

use crate::{
    request::{self, Address, NO_LOOP},
    skb::{Cloned, Datagram, SkbClone},
    sock::{same, Charge, GroupFile, NotQueued, Relay, Sock},
};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    alloc::flags::GFP_KERNEL_ACCOUNT,
    ffi::c_long,
    new_mutex, new_spinlock,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex, SpinLock, UniqueArc},
};

/// The most members a group has: every member's clone of a datagram takes a
/// reference to its shared data, and `skb_shinfo()->dataref` counts them in
/// 16 bits (`SKB_DATAREF_SHIFT`); the other half of that range is left to
/// the other users of the datagram. A join beyond it fails with `ENOBUFS`.
pub(crate) const MAX_MEMBERS: usize = 1 << 15;

/// One member of a group, shared by the member lists that name it.
pub(crate) struct Member {
    sk: ARef<Sock>,
    flags: u32,
    /// Set under the group's `order` lock when the member leaves, and read
    /// under it by the ordered section of every send: no send queues to the
    /// member after its leave returns, whichever member list it holds.
    left: AtomicBool,
}

impl Member {
    fn blocking(&self) -> bool {
        request::blocking(self.flags)
    }

    /// Whether a datagram sent by `sender` is delivered to this member.
    fn wants_from(&self, sender: &Sock) -> bool {
        !same(&self.sk, sender) || self.flags & NO_LOOP == 0
    }

    fn left(&self) -> bool {
        self.left.load(Ordering::Relaxed)
    }

    /// Whether `sender` has to wait for this member's room. As for unicast,
    /// a sender never waits for itself.
    fn holds_back(&self, sender: &Sock) -> bool {
        self.blocking() && !self.left() && !same(&self.sk, sender) && self.sk.full()
    }
}

/// A list of members, blocking members first. Once senders can see it, it
/// never changes: a membership change publishes a new one.
///
/// # Invariants
///
/// `all[..blocking]` are the blocking members, and `all[blocking..]` the
/// drop-when-full ones.
struct Members {
    all: KVVec<Arc<Member>>,
    blocking: usize,
}

impl Members {
    fn with_capacity(n: usize) -> Result<UniqueArc<Members>> {
        Ok(UniqueArc::new(
            Members {
                all: KVVec::with_capacity(n, GFP_KERNEL_ACCOUNT)?,
                blocking: 0,
            },
            GFP_KERNEL_ACCOUNT,
        )?)
    }

    fn blocking(&self) -> &[Arc<Member>] {
        &self.all[..self.blocking]
    }

    /// Whether a blocking member holds `sender` back. Reads the members'
    /// queue lengths locklessly, and takes no lock.
    fn hold_back(&self, sender: &Sock) -> bool {
        self.blocking().iter().any(|m| m.holds_back(sender))
    }

    /// Whether `sk` is a blocking member that has not left.
    fn is_blocking(&self, sk: &Sock) -> bool {
        self.blocking().iter().any(|m| same(&m.sk, sk) && !m.left())
    }
}

/// What a send made for one member.
enum Out {
    /// The clone, not queued yet; freed if it is not.
    Clone(SkbClone),
    /// Queued: the member is woken once the ordered section ends.
    Queued,
    /// Not taken by the member's queue: freed once the section ends.
    NotQueued(NotQueued),
    /// A drop of a drop-when-full member's, counted once the send is done.
    Dropped,
}

/// A send's clone for the member at `idx` in the send's member list.
struct Slot {
    out: Out,
    idx: usize,
}

/// The state of a group that its mutex protects.
///
/// # Invariants
///
/// - `file` and `charge` are `Some` from when [`Group::create`] stores the
///   file until the group dies, which is when its last member leaves (or it
///   is abandoned before any joined); its socket is unhashed, so its address
///   free, before they are taken out.
/// - `live` is the number of members in the published list (`members`)
///   that have not left, and `listed` the length of that list.
struct GroupInner {
    file: Option<GroupFile>,
    /// What the group costs its creator, given back when it dies (not when
    /// the last reference to it goes: a dead group's socket may linger as
    /// the peer of sockets connected to it).
    charge: Option<Charge>,
    live: usize,
    listed: usize,
    /// What the creator's join needs, allocated before the group's address
    /// is bound, so that once it is the creator's join cannot fail for want
    /// of memory and leave a socket file behind.
    first: Option<Joining>,
}

/// What a join allocates before it takes the group's mutex.
struct Joining {
    member: Arc<Member>,
    /// A blocking member's relay (see `Relay`).
    relay: Option<Relay>,
    spare: Option<UniqueArc<Members>>,
}

impl Joining {
    fn new(sk: &Sock, flags: u32, gsk: &Sock) -> Result<Self> {
        let relay = if request::blocking(flags) {
            Some(Relay::new(sk, gsk)?)
        } else {
            None
        };
        let member = Arc::new(
            Member {
                sk: sk.into(),
                flags,
                left: AtomicBool::new(false),
            },
            GFP_KERNEL_ACCOUNT,
        )?;
        Ok(Self {
            member,
            relay,
            spare: None,
        })
    }
}

/// What a group left when it died, to drop once its lock is released: its
/// socket's file (the last `fput()` releases the socket) and its charge.
pub(crate) struct Death {
    _file: GroupFile,
    _charge: Option<Charge>,
    _first: Option<Joining>,
}

/// A multicast group.
///
/// # Locking
///
/// - `inner`, the group's mutex, serialises membership changes. It is taken
///   after the memberships lock of a joining or leaving socket (see
///   `registry.rs`). Nothing that waits on a filesystem, on another group or
///   on memory runs under it: a group is created and bound before it is
///   locked, and a new member list is allocated with it dropped, so that
///   what runs under it is copying the list (one reference count per
///   member) and taking the two spinlocks below. A send never takes it.
/// - `members`, a spinlock, protects only which member list is published;
///   it is a leaf (nothing is taken or called under it), so that `poll()`
///   may read the list under the polling socket's `unix_state_lock()`.
/// - `order`, a spinlock, is the ordered section: senders queue their
///   clones under it, which gives every member the same order of the
///   group's datagrams, and a leave sets its member's `left` under it. Under
///   it run only the room checks of the send's blocking members (lockless
///   reads) and, per member, the member's `unix_state_lock()` and receive
///   queue lock, as a unicast datagram takes them: no allocation, no filter,
///   no LSM hook, no wake-up. Everything else of a send (reading the list,
///   waiting, cloning, filters, LSM checks, and the wake-ups) runs outside
///   it, in parallel with other senders.
///
/// Memory ordering: a published list is read under `members` and never
/// changed afterwards; `left` is written and read, where it decides, under
/// `order`; the lock release and acquire are all the ordering needed, and
/// elsewhere `left` is a hint. Waiting uses the wait queue protocol
/// (`prepare_to_wait_exclusive()` before the check, `wq_has_sleeper()` in
/// the waker after its change): see `unix_mcast_relay_wake()`.
///
/// # Invariants
///
/// The group's socket owns one reference (`GroupFile::create()`), and each
/// member's membership (see `registry.rs`) one.
#[pin_data]
pub(crate) struct Group {
    #[pin]
    inner: Mutex<GroupInner>,
    /// The published member list; `None` when the group has no member.
    #[pin]
    members: SpinLock<Option<Arc<Members>>>,
    #[pin]
    order: SpinLock<()>,
}

/// What a membership change left to do once its lock is dropped.
pub(crate) enum Added {
    /// `sk` is a member; a blocking member's relay is kept with its
    /// membership, and dropped after it leaves.
    Yes(Option<Relay>),
    /// The group died before `sk` could join: look its address up again.
    Dead,
}

impl Group {
    fn new(charge: Charge) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner <- new_mutex!(GroupInner {
                file: None,
                charge: Some(charge),
                live: 0,
                listed: 0,
                first: None,
            }, "unix_mcast_group"),
            members <- new_spinlock!(None, "unix_mcast_members"),
            order <- new_spinlock!((), "unix_mcast_order"),
        })
    }

    /// Creates a group at `addr` in the network namespace of `creator`, for
    /// the current task: it is charged to its user, its socket is created
    /// with its credentials, and bound with `bind()`'s checks. No lock is
    /// held while it is bound. It has no member yet, and what the join of
    /// `creator` with `flags` needs.
    pub(crate) fn create(creator: &Sock, addr: &Address, flags: u32) -> Result<Arc<Group>> {
        let grp = Arc::pin_init(Group::new(Charge::new()?), GFP_KERNEL_ACCOUNT)?;
        let file = GroupFile::create(creator, grp.clone())?;
        // Keep the socket while it is bound; the group owns its file.
        let sk: ARef<Sock> = file.sock().into();
        let mut first = match Joining::new(creator, flags, &sk) {
            Ok(first) => first,
            Err(e) => {
                drop(file);
                return Err(e);
            }
        };
        first.spare = match Members::with_capacity(1) {
            Ok(spare) => Some(spare),
            Err(e) => {
                drop(first);
                drop(file);
                return Err(e);
            }
        };
        let mut inner = grp.inner.lock();
        inner.file = Some(file);
        inner.first = Some(first);
        drop(inner);
        if let Err(e) = sk.bind_group(addr) {
            drop(grp.abandon());
            return Err(e);
        }
        Ok(grp)
    }

    /// The published member list. The caller drops it with no spinlock
    /// held and in a task that may sleep: the last reference frees the list
    /// and the members that left.
    fn list(&self) -> Option<Arc<Members>> {
        self.members.lock().clone()
    }

    /// The group's socket, while the group lives.
    fn sock(&self) -> Option<ARef<Sock>> {
        self.inner.lock().file.as_ref().map(|f| f.sock().into())
    }

    /// Publishes, under the group's mutex, a list of the members that have
    /// not left, and `new` if given, in `spare`, and returns the old list
    /// for the caller to drop once no spinlock is held. `spare` must have
    /// room for `inner.live` members, and one more for `new`; if it has not,
    /// nothing changes (`ENOMEM`).
    fn publish(
        &self,
        inner: &mut GroupInner,
        mut spare: UniqueArc<Members>,
        new: Option<&Arc<Member>>,
    ) -> Result<Option<Arc<Members>>> {
        fn push(all: &mut KVVec<Arc<Member>>, m: &Arc<Member>) -> Result {
            all.push_within_capacity(m.clone()).map_err(|_| ENOMEM)
        }

        let cur = self.list();
        let (old_blocking, old_dwf): (&[Arc<Member>], &[Arc<Member>]) = match &cur {
            Some(l) => l.all.split_at(l.blocking),
            None => (&[], &[]),
        };
        let next = &mut *spare;
        next.all.clear();
        for m in old_blocking.iter().filter(|m| !m.left()) {
            push(&mut next.all, m)?;
        }
        if let Some(m) = new.filter(|m| m.blocking()) {
            push(&mut next.all, m)?;
        }
        // INVARIANT: blocking members first.
        next.blocking = next.all.len();
        for m in old_dwf.iter().filter(|m| !m.left()) {
            push(&mut next.all, m)?;
        }
        if let Some(m) = new.filter(|m| !m.blocking()) {
            push(&mut next.all, m)?;
        }
        inner.live = next.all.len();
        inner.listed = inner.live;
        let list = (inner.live != 0).then(|| Arc::from(spare));
        let old = core::mem::replace(&mut *self.members.lock(), list);
        // With no spinlock held.
        drop(cur);
        Ok(old)
    }

    /// Adds `sk` as a member. The new member list is allocated with the
    /// group's mutex dropped (an allocation may enter reclaim, and every
    /// member's close() takes that mutex); nothing fails once `sk` is a
    /// member. A join copies the list: it costs one reference count per
    /// member.
    pub(crate) fn add(&self, sk: &Sock, flags: u32) -> Result<Added> {
        let first = {
            let mut inner = self.inner.lock();
            match inner.first.take() {
                Some(f) if same(&f.member.sk, sk) && f.member.flags == flags => Some(f),
                other => {
                    inner.first = other;
                    None
                }
            }
        };
        let mut joining = match first {
            Some(j) => j,
            None => {
                let Some(gsk) = self.sock() else {
                    return Ok(Added::Dead);
                };
                Joining::new(sk, flags, &gsk)?
            }
        };
        loop {
            let mut inner = self.inner.lock();
            if inner.file.is_none() {
                return Ok(Added::Dead);
            }
            let n = inner.live + 1;
            if n > MAX_MEMBERS {
                return Err(ENOBUFS);
            }
            match joining.spare.take() {
                Some(list) if list.all.capacity() >= n => {
                    let old = self.publish(&mut inner, list, Some(&joining.member))?;
                    drop(inner);
                    drop(old);
                    return Ok(Added::Yes(joining.relay));
                }
                _ => {
                    drop(inner);
                    // Room for a few more, should others join meanwhile.
                    let cap = n.saturating_add(8).min(MAX_MEMBERS);
                    joining.spare = Some(Members::with_capacity(cap)?);
                }
            }
        }
    }

    /// Removes `sk` from the members and wakes the senders waiting for its
    /// room: no send queues to it once this returns. If it was the last
    /// member the group dies: its address is free on return, and the caller
    /// drops what it left with no lock held.
    pub(crate) fn remove(&self, sk: &Sock) -> Option<Death> {
        let mut inner = self.inner.lock();
        let gsk: ARef<Sock> = inner.file.as_ref()?.sock().into();
        let list = self.list()?;
        if let Some(m) = list.all.iter().find(|m| same(&m.sk, sk) && !m.left()) {
            let _order = self.order.lock();
            m.left.store(true, Ordering::Relaxed);
            inner.live -= 1;
        }
        let mut old = None;
        let mut dead = None;
        if inner.live == 0 {
            old = self.members.lock().take();
            inner.listed = 0;
            dead = Self::die(&mut inner);
        }
        // Members that left stay in the list, skipped, until they are a
        // third of it: a leave copies the list once per so many leaves.
        let compact = (inner.listed - inner.live) * 2 > inner.live;
        let live = inner.live;
        drop(inner);
        drop(list);
        drop(old);
        // Whoever waited for `sk`'s room now waits for no one, or for
        // another member: let every sender look again.
        gsk.wake_all();
        if dead.is_none() && compact {
            self.compact(live);
        }
        dead
    }

    /// Publishes a list without the members that left, if it can allocate
    /// one; otherwise the next membership change does.
    fn compact(&self, live: usize) {
        let Ok(spare) = Members::with_capacity(live) else {
            return;
        };
        let mut inner = self.inner.lock();
        if inner.file.is_none() || inner.live > spare.all.capacity() {
            // Dead, or a join came first, and compacted.
            return;
        }
        // Were it to fail, the members that left would stay listed.
        let old = self.publish(&mut inner, spare, None).ok().flatten();
        drop(inner);
        drop(old);
    }

    /// Lets a group that no one joined die.
    /// What the creator's join needed is dropped in any case: the join
    /// failed.
    pub(crate) fn abandon(&self) -> Option<Death> {
        let mut inner = self.inner.lock();
        let first = inner.first.take();
        let dead = if inner.live == 0 {
            Self::die(&mut inner)
        } else {
            None
        };
        drop(inner);
        drop(first);
        dead
    }

    fn die(inner: &mut GroupInner) -> Option<Death> {
        let file = inner.file.take()?;
        file.unhash();
        Some(Death {
            _file: file,
            _charge: inner.charge.take(),
            _first: inner.first.take(),
        })
    }

    /// The inode number of a blocking member that holds `sender` back, if
    /// one does: `UNIX_MULTICAST_BLOCKED_BY`. The member list is read with a
    /// reference of its own, so that the inode is read with no lock held;
    /// dropping that reference may free the list, so the caller holds no
    /// lock. A member whose socket is being closed has inode number 0 and
    /// is passed over: it is leaving.
    pub(crate) fn blocked_by(&self, sender: &Sock) -> Option<usize> {
        let list = self.list()?;
        for m in list.blocking() {
            let ino = m.sk.ino();
            if ino != 0 && m.holds_back(sender) {
                return Some(ino);
            }
        }
        None
    }

    /// Whether `sender` would wait for a blocking member's room. Takes the
    /// member list's spinlock and nothing else, and drops no reference
    /// under it: `poll()` calls this under the polling socket's
    /// `unix_state_lock()`, and a waiting sender in `TASK_INTERRUPTIBLE`.
    pub(crate) fn blocked(&self, sender: &Sock) -> bool {
        self.members
            .lock()
            .as_ref()
            .is_some_and(|list| list.hold_back(sender))
    }

    /// Waits on the group's socket `gsk` until no blocking member holds
    /// `sender` back, for at most `timeo`: `EAGAIN` once that is out (at
    /// once for `MSG_DONTWAIT`), `EINTR` or `ERESTARTSYS` on a signal.
    /// Returns the time left.
    ///
    /// Senders that are not blocking members of the group all wait for the
    /// same thing, so they wait exclusively: a wake-up lets one of them go,
    /// which passes it on. A sender that is a blocking member does not wait
    /// for itself, so it waits for something else and is woken with every
    /// wake-up.
    fn wait(
        &self,
        gsk: &Sock,
        sender: &Sock,
        exclusive: bool,
        timeo: c_long,
        waited: &mut bool,
    ) -> Result<c_long> {
        if timeo == 0 {
            return Err(EAGAIN);
        }
        *waited = true;
        let left = gsk.wait_group(timeo, exclusive, || self.blocked(sender));
        if kernel::current!().signal_pending() {
            // MAX_SCHEDULE_TIMEOUT: no timeout, so restart.
            return Err(if timeo == c_long::MAX {
                ERESTARTSYS
            } else {
                EINTR
            });
        }
        Ok(left)
    }

    /// Sends `skb` to every member: to all blocking members or to none, in
    /// the same order everywhere. A group that died after the caller found
    /// it, whose socket is `gsk`, has no members: the datagram reaches no
    /// one.
    pub(crate) fn send(&self, sender: &Sock, gsk: &Sock, skb: &Datagram, timeo: c_long) -> Result {
        let mut waited = false;
        let res = self.send_waiting(sender, gsk, skb, timeo, &mut waited);
        // A sender woken exclusively passes the wake-up on, whether it sent
        // or gave up: the room it was woken for may be enough for another.
        if waited {
            gsk.wake_one();
        }
        res
    }

    fn send_waiting(
        &self,
        sender: &Sock,
        gsk: &Sock,
        skb: &Datagram,
        timeo: c_long,
        waited: &mut bool,
    ) -> Result {
        let mut timeo = timeo;
        loop {
            // Wait before cloning, so that a datagram that waits pins
            // nothing.
            let list = loop {
                let Some(list) = self.list() else {
                    return Ok(());
                };
                if !list.hold_back(sender) {
                    break list;
                }
                let exclusive = !list.is_blocking(sender);
                drop(list);
                timeo = self.wait(gsk, sender, exclusive, timeo, waited)?;
            };
            skb.restart();
            let mut out = Self::clone_all(sender, skb, &list)?;
            if !self.deliver(sender, &list, &mut out) {
                // A blocking member filled up since it was checked: free
                // the clones (`out`) and wait again.
                continue;
            }
            // The wake-ups, and the frees of what was not queued, with no
            // lock held: a member's `sk_data_ready()` may sleep.
            for slot in out.iter_mut() {
                let m = &list.all[slot.idx];
                match core::mem::replace(&mut slot.out, Out::Queued) {
                    Out::Queued => m.sk.data_ready(),
                    Out::NotQueued(clone) => m.sk.drop_clone(clone),
                    // A member that left meanwhile.
                    Out::Clone(clone) => drop(clone),
                    Out::Dropped if !m.left() => m.sk.count_drop(),
                    Out::Dropped => {}
                }
            }
            return Ok(());
        }
    }

    /// Clones `skb` for every member of `list` that gets it, with no lock of
    /// the group held, so that concurrent senders do this in parallel, and
    /// notes the drop-when-full members' drops. An error fails the send; the
    /// clones made so far are freed.
    fn clone_all(sender: &Sock, skb: &Datagram, list: &Members) -> Result<KVVec<Slot>> {
        let mut out =
            KVVec::with_capacity(list.all.len(), GFP_KERNEL_ACCOUNT).map_err(|_| ENOBUFS)?;
        for (idx, m) in list.all.iter().enumerate() {
            if m.left() || !m.wants_from(sender) {
                continue;
            }
            let made = if !m.blocking() && m.sk.full() {
                Out::Dropped
            } else if sender.may_send(&m.sk).is_err() {
                continue;
            } else {
                match skb.clone_for(sender, &m.sk, m.blocking())? {
                    Cloned::Clone(clone) => Out::Clone(clone),
                    Cloned::Dropped => Out::Dropped,
                    Cloned::Filtered => continue,
                }
            };
            // There is room for every member.
            if out.push_within_capacity(Slot { out: made, idx }).is_err() {
                return Err(ENOBUFS);
            }
        }
        Ok(out)
    }

    /// The ordered section: queues the send's clones, unless a blocking
    /// member has no room (`false`: nothing was queued). The clones of
    /// members that left are not queued. Unicast senders and other groups
    /// do not take this lock, and may each fill a blocking member by one
    /// datagram between its check and its clone's queueing, as in the
    /// previous revision.
    ///
    /// It holds the group's spinlock for one check per blocking member and
    /// two uncontended spinlocks per member queued to: that is all senders
    /// to one group wait on each other for.
    fn deliver(&self, sender: &Sock, list: &Members, out: &mut [Slot]) -> bool {
        let _order = self.order.lock();
        // The blocking members' slots come first, as their members do.
        if out
            .iter()
            .take_while(|s| s.idx < list.blocking)
            .any(|s| list.all[s.idx].holds_back(sender))
        {
            return false;
        }
        for slot in out.iter_mut() {
            let m = &list.all[slot.idx];
            if m.left() || !matches!(slot.out, Out::Clone(_)) {
                continue;
            }
            if let Out::Clone(clone) = core::mem::replace(&mut slot.out, Out::Queued) {
                if let Err(clone) = m.sk.enqueue(clone) {
                    slot.out = Out::NotQueued(clone);
                }
            }
        }
        true
    }
}
