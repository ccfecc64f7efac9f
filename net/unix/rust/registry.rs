// SPDX-License-Identifier: GPL-2.0

//! The registry: which groups each socket has joined.
//!
//! # Locking
//!
//! There is no registry lock. From the outside in:
//!
//! 1. [`Memberships::list`], a mutex per member socket, serialises that
//!    socket's joins and leaves (its release needs no lock: nothing else can
//!    use the socket then). It is held for list operations and for the
//!    group lock below, never across a lookup, a bind or anything else that
//!    waits on a filesystem.
//! 2. The group's own mutex (`group.rs`).
//! 3. The XArray's spinlock, alone: it is taken to find, insert or remove a
//!    socket's [`Memberships`], and nothing else is locked or allocated under
//!    it but XArray nodes (whose allocation may drop it for a moment).
//!
//! A join looks the address up, and creates and binds a group there, with
//! no lock held; it then checks under the locks above that the group it
//! found is still alive, and starts again if not. So no socket ever waits
//! for another socket's path walk, and close() of a member takes only the
//! locks of the groups it leaves.

use crate::{
    group::{Added, Group},
    request::{blocking, leave_index, Address, Request, Resolved},
    sock::{same, Relay, Sock},
};
use kernel::{
    alloc::flags::{GFP_KERNEL_ACCOUNT, GFP_NOWAIT},
    alloc::kvec::PushError,
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
    xarray::{AllocKind, XArray},
};

/// How many times a join looks its address up again (see [`Registry::join`]).
const JOIN_ROUNDS: usize = 16;

/// One group a socket joined.
struct Membership {
    group: Arc<Group>,
    /// The address the join gave, so that a leave finds the group after its
    /// path was renamed or unlinked.
    addr: Address,
    /// A blocking member's wake-up relay to the group, dropped after the
    /// member left.
    _relay: Option<Relay>,
}

/// The groups one socket has joined.
#[pin_data]
struct Memberships {
    sk: ARef<Sock>,
    #[pin]
    list: Mutex<KVec<Membership>>,
}

impl Memberships {
    fn new(sk: ARef<Sock>) -> impl PinInit<Self> {
        pin_init!(Self {
            sk,
            list <- new_mutex!(KVec::new(), "unix_mcast_memberships"),
        })
    }

    fn contains(&self, grp: &Arc<Group>) -> bool {
        self.list.lock().iter().any(|m| Arc::ptr_eq(&m.group, grp))
    }
}

/// The sockets that share one inode number (they can, once numbers wrap).
struct Slot(KVec<Arc<Memberships>>);

impl Slot {
    fn find(&self, sk: &Sock) -> Option<&Arc<Memberships>> {
        self.0.iter().find(|m| same(&m.sk, sk))
    }
}

/// The multicast registry: the memberships of every socket that joined a
/// group, keyed by the socket's inode number.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    sockets: XArray<KBox<Slot>>,
}

/// What holds an address.
enum Holder {
    /// Nothing: the address is free.
    Free,
    /// A group, and its socket.
    Group(Arc<Group>, ARef<Sock>),
    /// An ordinary socket.
    Socket,
}

/// Looks up what holds `addr`, with the checks of `connect()` for `sk`.
fn lookup(sk: &Sock, addr: &Address) -> Result<Holder> {
    let other = match sk.lookup(addr) {
        Ok(other) => other,
        Err(e) if e == ENOENT || e == ECONNREFUSED => return Ok(Holder::Free),
        // A socket of another type is bound there.
        Err(e) if e == EPROTOTYPE => return Ok(Holder::Socket),
        Err(e) => return Err(e),
    };
    let grp = other.group().map(Arc::from);
    Ok(match grp {
        Some(grp) => Holder::Group(grp, other),
        None => Holder::Socket,
    })
}

impl Registry {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            sockets <- XArray::new(AllocKind::Alloc),
        })
    }

    fn find(&self, sk: &Sock) -> Option<Arc<Memberships>> {
        let ino = sk.ino();
        let xa = self.sockets.lock();
        xa.get(ino).and_then(|slot| slot.find(sk).cloned())
    }

    /// The memberships of `sk`, recorded if it had none. Nothing sleeps under
    /// the XArray's spinlock: the slot and the node it may need are
    /// allocated without blocking (`ENOMEM` if they cannot be), so that the
    /// lock is never dropped between the check and the store.
    fn find_or_insert(&self, sk: &Sock) -> Result<Arc<Memberships>> {
        if let Some(m) = self.find(sk) {
            return Ok(m);
        }
        let ino = sk.ino();
        let new = Arc::pin_init(Memberships::new(sk.into()), GFP_KERNEL_ACCOUNT)?;
        let mut fresh = KBox::new(
            Slot(KVec::with_capacity(1, GFP_KERNEL_ACCOUNT)?),
            GFP_KERNEL_ACCOUNT,
        )?;

        let mut xa = self.sockets.lock();
        let Some(slot) = xa.get_mut(ino) else {
            // Cannot fail: there is room.
            fresh
                .0
                .push_within_capacity(new.clone())
                .map_err(|_| ENOMEM)?;
            xa.store(ino, fresh, GFP_NOWAIT)?;
            return Ok(new);
        };
        // Another join of the same socket may have been first.
        if let Some(m) = slot.find(sk) {
            return Ok(m.clone());
        }
        // Another socket with the same inode number: rare.
        slot.0.reserve(1, GFP_NOWAIT)?;
        slot.0
            .push_within_capacity(new.clone())
            .map_err(|_| ENOMEM)?;
        Ok(new)
    }

    /// Forgets the memberships of `sk` and returns them.
    fn remove(&self, sk: &Sock) -> Option<Arc<Memberships>> {
        let ino = sk.ino();
        let mut xa = self.sockets.lock();
        let slot = xa.get_mut(ino)?;
        let i = slot.0.iter().position(|m| same(&m.sk, sk))?;
        let m = slot.0.remove(i).ok();
        if slot.0.is_empty() {
            drop(xa.remove(ino));
        }
        m
    }

    /// Joins `sk` to the group at `req`'s address, creating the group if the
    /// address is free, or holds only a socket file no socket is bound to.
    pub(crate) fn join(&self, sk: &Sock, req: Request) -> Result {
        let mine = self.find_or_insert(sk)?;
        // From here on the release of `sk` forgets its memberships.
        sk.set_member();
        let limit = sk.max_memberships();
        // Each new round follows another task's progress: the group found
        // died, or another task bound the address first. A bounded number
        // of rounds, so that a filesystem that shows a path as free but
        // refuses to bind there (for example through a mount over it)
        // cannot keep a join going.
        for round in 0..JOIN_ROUNDS {
            if round > 0 && kernel::current!().signal_pending() {
                return Err(ERESTARTSYS);
            }
            // Make room first: once a new group's address is bound, nothing
            // should fail for want of memory and leave its socket file.
            mine.list.lock().reserve(1, GFP_KERNEL_ACCOUNT)?;
            // No lock is held for the lookup, the checks and the bind.
            let (grp, created) = match lookup(sk, &req.addr)? {
                Holder::Group(grp, gsk) => {
                    if mine.contains(&grp) {
                        return Err(EALREADY);
                    }
                    match sk.may_join(&gsk, blocking(req.flags)) {
                        Ok(()) => (grp, false),
                        // The group's socket was released after the lookup.
                        Err(e) if e == EAGAIN => continue,
                        Err(e) => return Err(e),
                    }
                }
                Holder::Socket => return Err(EADDRINUSE),
                Holder::Free => {
                    if mine.list.lock().len() >= limit {
                        return Err(ENOBUFS);
                    }
                    match Group::create(sk, &req.addr, req.flags) {
                        Ok(grp) => (grp, true),
                        // Another task bound the address first: look again.
                        Err(e) if e == EAGAIN => continue,
                        Err(e) => return Err(e),
                    }
                }
            };

            let mut list = mine.list.lock();
            let res = if list.iter().any(|m| Arc::ptr_eq(&m.group, &grp)) {
                Err(EALREADY)
            } else if list.len() >= limit {
                Err(ENOBUFS)
            } else {
                list.reserve(1, GFP_KERNEL_ACCOUNT)
                    .map_err(Error::from)
                    .and_then(|()| grp.add(sk, req.flags))
            };
            match res {
                Ok(Added::Yes(relay)) => {
                    let m = Membership {
                        group: grp,
                        addr: req.addr,
                        _relay: relay,
                    };
                    // Cannot fail: room was reserved. Were it to, the
                    // membership would be undone, not leaked.
                    if let Err(PushError(m)) = list.push_within_capacity(m) {
                        drop(m.group.remove(sk));
                        return Err(ENOMEM);
                    }
                    return Ok(());
                }
                // The group died after the lookup: look again.
                Ok(Added::Dead) => {}
                Err(e) => {
                    drop(list);
                    // A group made for this join, that no one joined, dies.
                    if created {
                        drop(grp.abandon());
                    }
                    return Err(e);
                }
            }
        }
        Err(EADDRINUSE)
    }

    /// Leaves the group `req`'s address resolves to or, failing that, the
    /// group `sk` joined with that very address.
    pub(crate) fn leave(&self, sk: &Sock, req: Request) -> Result {
        // The lookup runs with no lock held.
        let found = lookup(sk, &req.addr);
        let Some(mine) = self.find(sk) else {
            return match found? {
                Holder::Group(..) => Err(EINVAL),
                _ => Err(ENOENT),
            };
        };
        let mut list = mine.list.lock();
        let resolved = match found {
            Ok(Holder::Group(grp, _)) => list
                .iter()
                .position(|m| Arc::ptr_eq(&m.group, &grp))
                .map_or(Resolved::OtherGroup, Resolved::Member),
            Ok(_) => Resolved::Nothing,
            Err(e) => Resolved::Failed(e),
        };
        let by_addr = list.iter().position(|m| m.addr == req.addr);
        let i = leave_index(resolved, by_addr)?;
        let m = list.remove(i).map_err(|_| EINVAL)?;
        let dead = m.group.remove(sk);
        drop(list);
        drop(dead);
        Ok(())
    }

    /// Leaves every group `sk` joined; `sk` is being released. Looks no path
    /// up, and takes no lock but those of the groups it leaves.
    pub(crate) fn release(&self, sk: &Sock) {
        let Some(mine) = self.remove(sk) else {
            return;
        };
        let list = core::mem::take(&mut *mine.list.lock());
        for m in list.iter() {
            drop(m.group.remove(sk));
        }
    }
}
