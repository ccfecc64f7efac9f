// SPDX-License-Identifier: GPL-2.0

//! AF_UNIX multicast groups.
//!
//! A process joins a named AF_UNIX address with
//! `setsockopt(SOL_UNIX, UNIX_ADD_MEMBERSHIP)`; every datagram sent to that
//! address is cloned with `skb_clone()` and queued to every member. See
//! `Documentation/networking/af_unix_multicast.rst` for the contract.
//!
//! A group is an AF_UNIX `SOCK_DGRAM` kernel socket bound to the group's
//! address (created in `net/unix/af_unix.c`), so that the address namespace,
//! the permission checks and the lookups of a group are those of any socket.
//! This file keeps the graph of groups and members and does the fan-out.
//!
//! # Locking
//!
//! - [`Registry::lock`], a mutex, serialises joins, leaves and releases. It
//!   is never taken on the send path.
//! - [`Registry::sockets`], an XArray keyed by the member socket's inode,
//!   holds each member's list of groups. Only holders of [`Registry::lock`]
//!   change it; its own spinlock is held for single lookups and stores.
//! - [`Group::inner`], a mutex per group, protects the group's member list.
//!   A sender holds it from the check for room until the last clone is
//!   queued and its member woken, which gives every member the same order of
//!   datagrams, also with concurrent senders. It nests inside
//!   [`Registry::lock`] and outside each member's `unix_state_lock()` and
//!   `iolock` (a sockmap's `sk_data_ready()` may take the latter).
//! - No global lock is taken to send: a sender takes its group's lock only,
//!   and drops it while it waits for a member's room.

use core::{
    mem::{offset_of, size_of},
    ptr,
    sync::atomic::{AtomicU32, Ordering},
};
use kernel::{
    bindings,
    error::{code::*, from_err_ptr, to_result},
    ffi::{c_char, c_int, c_long, c_uint, c_void},
    new_mutex,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex, SetOnce},
    xarray::{AllocKind, XArray},
};

/// `offsetof(struct sockaddr_un, sun_path)`.
const SUN_PATH: usize = offset_of!(bindings::sockaddr_un, sun_path);
/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN_LEN: usize = size_of::<bindings::sockaddr_un>();
/// `sizeof(struct unix_mreq)`.
const MREQ_LEN: usize = size_of::<bindings::unix_mreq>();
/// The membership flags userspace may set.
const MREQ_FLAGS: u32 = bindings::UNIX_MREQ_DROP_WHEN_FULL | bindings::UNIX_MREQ_NO_LOOP;

// The uapi layout the parser relies on.
const _: () = assert!(SUN_PATH == 2 && SOCKADDR_UN_LEN == 110 && MREQ_LEN == 120);

/// A validated `UNIX_ADD_MEMBERSHIP` or `UNIX_DROP_MEMBERSHIP` request.
///
/// # Invariants
///
/// `SUN_PATH < len <= SOCKADDR_UN_LEN`, `addr.sun_family == AF_UNIX` and
/// `flags` has no bit outside [`MREQ_FLAGS`].
struct Request {
    addr: bindings::sockaddr_un,
    len: usize,
    flags: u32,
}

/// Reads a native-endian `u32` at `off` of `val`, which is long enough.
fn read_u32(val: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&val[off..off + 4]);
    u32::from_ne_bytes(b)
}

impl Request {
    /// Parses an option value: a `struct unix_mreq` when it has exactly that
    /// size, otherwise a `struct sockaddr_un` of the value's length, as for
    /// `bind()`. Flags only mean something to a join: a leave ignores them,
    /// whatever their value, as the documentation says. The two bytes of
    /// padding after `umr_addr` are ignored.
    fn parse(val: &[u8], join: bool) -> Result<Self> {
        let (raw, len, flags) = if val.len() == MREQ_LEN {
            let len = read_u32(val, offset_of!(bindings::unix_mreq, umr_addrlen));
            let flags = if join {
                read_u32(val, offset_of!(bindings::unix_mreq, umr_flags))
            } else {
                0
            };
            (&val[..SOCKADDR_UN_LEN], len as usize, flags)
        } else {
            (val, val.len(), 0)
        };

        if len <= SUN_PATH || len > SOCKADDR_UN_LEN || flags & !MREQ_FLAGS != 0 {
            return Err(EINVAL);
        }
        let family = u16::from_ne_bytes([raw[0], raw[1]]);
        if u32::from(family) != bindings::AF_UNIX {
            return Err(EINVAL);
        }

        let mut addr = bindings::sockaddr_un {
            sun_family: family,
            sun_path: [0; 108],
        };
        for (d, s) in addr.sun_path.iter_mut().zip(&raw[SUN_PATH..len]) {
            *d = *s as c_char;
        }
        // INVARIANT: checked above.
        Ok(Self { addr, len, flags })
    }

    fn addr_len(&self) -> c_int {
        // The type invariant bounds `len` by `SOCKADDR_UN_LEN`.
        self.len as c_int
    }
}

/// One member of a group.
///
/// # Invariants
///
/// `sk` is a live AF_UNIX `SOCK_DGRAM` socket on which `sock_hold()` was
/// called for this member.
struct Member {
    sk: *mut bindings::sock,
    flags: u32,
}

impl Member {
    fn blocking(&self) -> bool {
        self.flags & bindings::UNIX_MREQ_DROP_WHEN_FULL == 0
    }

    /// Whether a datagram sent by `sender` is delivered to this member.
    fn wants_from(&self, sender: *mut bindings::sock) -> bool {
        self.sk != sender || self.flags & bindings::UNIX_MREQ_NO_LOOP == 0
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the member holds a reference on `sk`.
        unsafe { bindings::sock_put(self.sk) };
    }
}

/// Clones of the datagram being sent, each with its member.
type Clones = KVVec<(*mut bindings::sk_buff, *mut bindings::sock)>;

/// The state of a group that its lock protects.
///
/// # Invariants
///
/// - `sock` is the group's bound socket, owned by the group, from when the
///   group is published until it dies; null before and after. Senders only
///   find a group through its bound socket, so null means dead to them.
/// - `scratch` is empty whenever the lock is free, and has room for at least
///   `members.len()` entries, so that a send allocates nothing beyond the
///   clones themselves.
struct GroupInner {
    sock: *mut bindings::socket,
    members: KVVec<Member>,
    scratch: Clones,
}

/// A multicast group.
///
/// # Invariants
///
/// Its socket's `mcast_group` holds one reference, from `Arc::into_raw()`,
/// that the socket's destructor drops; every member's [`Joined`] holds one.
#[pin_data]
struct Group {
    #[pin]
    inner: Mutex<GroupInner>,
    /// Changes whenever a member leaves, so that a sender waiting for that
    /// member's room stops waiting.
    seq: AtomicU32,
}

// SAFETY: The raw pointers in `GroupInner` are only used under the group's
// lock, and sockets may be used from any thread.
unsafe impl Send for GroupInner {}

impl Group {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_mutex!(GroupInner {
                sock: ptr::null_mut(),
                members: KVVec::new(),
                scratch: KVVec::new(),
            }, "unix_mcast_group"),
            seq: AtomicU32::new(0),
        })
    }

    /// Returns the group of `sk` if it is a group's socket.
    ///
    /// # Safety
    ///
    /// `sk` must be a live AF_UNIX socket, and the returned borrow must not
    /// outlive the caller's reference on it.
    unsafe fn of<'a>(sk: *mut bindings::sock) -> Option<ArcBorrow<'a, Group>> {
        // SAFETY: `sk` is a live AF_UNIX socket.
        let grp = unsafe { bindings::unix_mcast_group_of(sk) };
        if grp.is_null() {
            return None;
        }
        // SAFETY: `mcast_group` of a group's socket comes from
        // `Arc::into_raw()` in `Registry::create()`, and the socket owns that
        // reference until it is destroyed, which the caller's reference
        // prevents.
        Some(unsafe { ArcBorrow::from_raw(grp.cast::<Group>()) })
    }

    fn is_member(&self, sk: *mut bindings::sock) -> bool {
        self.inner.lock().members.iter().any(|m| m.sk == sk)
    }

    /// Makes room for one more member, so that [`Group::add`] cannot fail.
    /// The caller holds the registry lock, which keeps the room.
    fn reserve(&self) -> Result {
        let mut inner = self.inner.lock();
        let n = inner.members.len() + 1;
        inner.members.reserve(1, GFP_KERNEL)?;
        // `scratch` is empty while the lock is held by anyone but a sender.
        inner.scratch.reserve(n, GFP_KERNEL)?;
        Ok(())
    }

    /// Adds `sk` as a member. The caller holds the registry lock and made
    /// room with [`Group::reserve`].
    fn add(&self, sk: *mut bindings::sock, flags: u32) -> Result {
        // SAFETY: `sk` is the caller's live socket; `Member::drop()` drops
        // this reference.
        unsafe { bindings::sock_hold(sk) };
        // INVARIANT: `sk` is held above.
        let member = Member { sk, flags };
        // Does not allocate: `reserve()` made room. Were it to fail,
        // `member` would be dropped with its reference.
        Ok(self.inner.lock().members.push(member, GFP_KERNEL)?)
    }

    /// Removes `sk` from the members and wakes senders waiting for its room.
    /// Returns whether the group has members left.
    fn remove(&self, sk: *mut bindings::sock) -> bool {
        let mut inner = self.inner.lock();
        inner.members.retain(|m| m.sk != sk);
        self.seq.fetch_add(1, Ordering::Release);
        let left = !inner.members.is_empty();
        drop(inner);
        // SAFETY: The caller, a member being removed, still owns `sk`.
        unsafe { bindings::unix_mcast_wake_senders(sk) };
        left
    }

    /// Sends `skb` to every member: all blocking members or none, in the
    /// same order everywhere.
    fn send(&self, sk: *mut bindings::sock, skb: *mut bindings::sk_buff, timeo: c_long) -> Result {
        let mut timeo = timeo;
        loop {
            let mut inner = self.inner.lock();
            if inner.sock.is_null() {
                // The group died after the caller found it.
                return Err(ESRCH);
            }

            // A datagram waits until every blocking member has room. As for
            // unicast, a sender never waits for itself.
            let full = inner.members.iter().find(|m| {
                m.blocking()
                    && m.sk != sk
                    // SAFETY: Members are live sockets by the type invariant.
                    && unsafe { bindings::unix_mcast_full(m.sk) }
            });
            if let Some(m) = full {
                if timeo == 0 {
                    return Err(EAGAIN);
                }
                let msk = m.sk;
                let seen = self.seq.load(Ordering::Acquire);
                // SAFETY: `msk` is live; the reference keeps it so while the
                // lock is dropped.
                unsafe { bindings::sock_hold(msk) };
                drop(inner);
                // SAFETY: `msk` is held, `seq` outlives the call.
                timeo = unsafe { bindings::unix_mcast_wait(msk, timeo, self.seq.as_ptr(), seen) };
                // SAFETY: Drops the reference taken above.
                unsafe { bindings::sock_put(msk) };
                if kernel::current!().signal_pending() {
                    return Err(if timeo == c_long::MAX {
                        ERESTARTSYS
                    } else {
                        EINTR
                    });
                }
                continue;
            }

            // Allocate every clone before delivering any.
            let inner = &mut *inner;
            for m in inner.members.iter() {
                if !m.wants_from(sk) {
                    continue;
                }
                // SAFETY: Members are live sockets by the type invariant.
                if !m.blocking() && unsafe { bindings::unix_mcast_full(m.sk) } {
                    // SAFETY: As above.
                    unsafe { bindings::unix_mcast_count_drop(m.sk) };
                    continue;
                }
                // SAFETY: `sk` and the member are live sockets.
                if unsafe { bindings::unix_mcast_may_send(sk, m.sk) } != 0 {
                    continue;
                }
                let mut clone = ptr::null_mut();
                // SAFETY: `skb` is the caller's datagram, `sk` its sender.
                match unsafe { bindings::unix_mcast_clone(skb, sk, m.sk, &mut clone) } {
                    0 => {
                        // The type invariant of `GroupInner` leaves room.
                        if inner.scratch.push_within_capacity((clone, m.sk)).is_err() {
                            // SAFETY: `clone` is ours and not queued.
                            unsafe { bindings::unix_mcast_free_skb(clone) };
                            Self::drop_clones(&mut inner.scratch);
                            return Err(ENOBUFS);
                        }
                    }
                    e if e == ENOBUFS.to_errno() => {
                        Self::drop_clones(&mut inner.scratch);
                        return Err(ENOBUFS);
                    }
                    // Dropped by the member's socket filter.
                    _ => {}
                }
            }
            while let Some((clone, msk)) = inner.scratch.pop() {
                // SAFETY: `clone` is ours, `msk` a live member.
                unsafe { bindings::unix_mcast_queue(msk, clone) };
            }
            return Ok(());
        }
    }

    fn drop_clones(scratch: &mut Clones) {
        while let Some((clone, _)) = scratch.pop() {
            // SAFETY: The clone is ours and was never queued.
            unsafe { bindings::unix_mcast_free_skb(clone) };
        }
    }
}

/// The groups one socket has joined.
///
/// # Invariants
///
/// `sk` is a live socket whose `mcast_member` is set, and `sk` is a member
/// of each of `groups`.
struct Joined {
    sk: *mut bindings::sock,
    groups: KVec<Arc<Group>>,
}

/// The sockets that share one inode number (they can, once numbers wrap).
struct Slot(KVec<Joined>);

// SAFETY: `Joined::sk` is only used under `Registry::lock`, and sockets may
// be used from any thread.
unsafe impl Send for Slot {}

/// The multicast registry: the graph of members and groups.
#[pin_data]
struct Registry {
    /// Serialises joins, leaves and releases.
    #[pin]
    lock: Mutex<()>,
    /// Member socket inode to that socket's memberships. Changed only under
    /// `lock`.
    #[pin]
    sockets: XArray<KBox<Slot>>,
}

static REGISTRY: SetOnce<Pin<KBox<Registry>>> = SetOnce::new();

fn registry() -> Result<&'static Registry> {
    REGISTRY
        .as_ref()
        .map(|r| r.as_ref().get_ref())
        .ok_or(ENOMEM)
}

impl Registry {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- new_mutex!((), "unix_mcast_registry"),
            sockets <- XArray::new(AllocKind::Alloc),
        })
    }

    /// Number of groups `sk` has joined. The caller holds `self.lock`.
    fn count(&self, ino: usize, sk: *mut bindings::sock) -> usize {
        let xa = self.sockets.lock();
        xa.get(ino)
            .and_then(|slot| slot.0.iter().find(|j| j.sk == sk))
            .map_or(0, |j| j.groups.len())
    }

    /// Records that `sk` joined `grp`. The caller holds `self.lock`, so
    /// only it changes `self.sockets`: what it sizes outside the XArray's
    /// spinlock is still right when it takes it again, and nothing is
    /// allocated under it but XArray nodes.
    fn record(&self, ino: usize, sk: *mut bindings::sock, grp: Arc<Group>) -> Result {
        let (socks, groups) = {
            let xa = self.sockets.lock();
            match xa.get(ino) {
                None => (0, 0),
                Some(slot) => (
                    slot.0.len(),
                    slot.0
                        .iter()
                        .find(|j| j.sk == sk)
                        .map_or(0, |j| j.groups.len()),
                ),
            }
        };
        let mut new_groups = KVec::with_capacity(groups + 1, GFP_KERNEL)?;
        let mut new_socks = KVec::with_capacity(socks + 1, GFP_KERNEL)?;
        let fresh = KBox::new(Slot(KVec::new()), GFP_KERNEL)?;

        let mut xa = self.sockets.lock();
        let Some(slot) = xa.get_mut(ino) else {
            new_groups.push_within_capacity(grp).map_err(|_| ENOMEM)?;
            new_socks
                .push_within_capacity(Joined {
                    sk,
                    groups: new_groups,
                })
                .map_err(|_| ENOMEM)?;
            let mut fresh = fresh;
            fresh.0 = new_socks;
            xa.store(ino, fresh, GFP_KERNEL)?;
            return Ok(());
        };
        let j = match slot.0.iter().position(|j| j.sk == sk) {
            Some(i) => &mut slot.0[i],
            None => {
                for j in slot.0.drain_all() {
                    new_socks.push_within_capacity(j).map_err(|_| ENOMEM)?;
                }
                new_socks
                    .push_within_capacity(Joined {
                        sk,
                        groups: KVec::new(),
                    })
                    .map_err(|_| ENOMEM)?;
                slot.0 = new_socks;
                let last = slot.0.len() - 1;
                &mut slot.0[last]
            }
        };
        for g in j.groups.drain_all() {
            new_groups.push_within_capacity(g).map_err(|_| ENOMEM)?;
        }
        new_groups.push_within_capacity(grp).map_err(|_| ENOMEM)?;
        j.groups = new_groups;
        Ok(())
    }

    /// Forgets that `sk` joined `grp`. Returns whether it had. The caller
    /// holds `self.lock` and a reference on `grp`.
    fn forget(&self, ino: usize, sk: *mut bindings::sock, grp: &Group) -> bool {
        let mut xa = self.sockets.lock();
        let Some(slot) = xa.get_mut(ino) else {
            return false;
        };
        let Some(i) = slot.0.iter().position(|j| j.sk == sk) else {
            return false;
        };
        let groups = &mut slot.0[i].groups;
        let Some(k) = groups.iter().position(|g| ptr::eq(&**g, grp)) else {
            return false;
        };
        // Not the last reference: the caller holds one.
        drop(groups.remove(k));
        if groups.is_empty() {
            drop(slot.0.remove(i));
            if slot.0.is_empty() {
                drop(xa.remove(ino));
            }
        }
        true
    }

    /// Forgets every group `sk` joined and returns them. The caller holds
    /// `self.lock`.
    fn forget_all(&self, ino: usize, sk: *mut bindings::sock) -> Option<Joined> {
        let mut xa = self.sockets.lock();
        let slot = xa.get_mut(ino)?;
        let i = slot.0.iter().position(|j| j.sk == sk)?;
        let joined = slot.0.remove(i).ok();
        if slot.0.is_empty() {
            drop(xa.remove(ino));
        }
        joined
    }

    /// Gives `grp` its socket, bound to `req`'s address in `net`: from then
    /// on it can be found. The caller holds `self.lock`.
    fn publish(net: *mut bindings::net, req: &mut Request, grp: &Arc<Group>) -> Result {
        let raw = Arc::into_raw(grp.clone());
        let mut sock = ptr::null_mut();
        // SAFETY: `net` is the caller's namespace; on success the socket
        // keeps `raw`, the reference its destructor drops.
        let err = unsafe { bindings::unix_mcast_create(net, raw.cast_mut().cast(), &mut sock) };
        if let Err(e) = to_result(err) {
            // SAFETY: `unix_mcast_create()` failed and did not keep `raw`.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(e);
        }
        // INVARIANT: the socket is owned by the group from here on.
        grp.inner.lock().sock = sock;
        // SAFETY: `sock` is the group's socket, `req.addr` holds `req.len`
        // valid bytes.
        let err = unsafe { bindings::unix_mcast_bind(sock, &mut req.addr, req.addr_len()) };
        if let Err(e) = to_result(err) {
            grp.inner.lock().sock = ptr::null_mut();
            // SAFETY: The group owned `sock`, unbound, and gave it up above.
            unsafe { bindings::unix_mcast_destroy(sock) };
            return Err(e);
        }
        Ok(())
    }

    /// Removes `sk` from `grp` and destroys `grp` if it has no members left.
    /// The caller holds `self.lock`.
    fn leave_group(&self, sk: *mut bindings::sock, grp: &Group) {
        if grp.remove(sk) {
            return;
        }
        let sock = core::mem::replace(&mut grp.inner.lock().sock, ptr::null_mut());
        if !sock.is_null() {
            // SAFETY: The group owned `sock`, and gave it up above.
            unsafe { bindings::unix_mcast_destroy(sock) };
        }
    }

    /// Joins `sk` to the group at `req`'s address, creating it if the
    /// address is free. Everything that can fail is done before the group
    /// becomes visible or `sk` a member, so a failed join leaves nothing.
    fn join(&self, sk: *mut bindings::sock, mut req: Request) -> Result {
        let _guard = self.lock.lock();
        // SAFETY: `sk` is the caller's live socket.
        let (ino, net, limit) = unsafe {
            (
                bindings::unix_mcast_ino(sk) as usize,
                bindings::unix_mcast_net(sk),
                bindings::unix_mcast_max_memberships(sk),
            )
        };

        let (grp, created) = match lookup(net, &mut req)? {
            Holder::Group(grp) if grp.is_member(sk) => return Err(EALREADY),
            Holder::Group(grp) => (grp, false),
            Holder::Socket => return Err(EADDRINUSE),
            Holder::Free => (Arc::pin_init(Group::new(), GFP_KERNEL)?, true),
        };
        if self.count(ino, sk) >= usize::try_from(limit).unwrap_or(0) {
            return Err(ENOBUFS);
        }
        grp.reserve()?;
        self.record(ino, sk, grp.clone())?;
        if created {
            if let Err(e) = Self::publish(net, &mut req, &grp) {
                self.forget(ino, sk, &grp);
                return Err(e);
            }
        }
        if let Err(e) = grp.add(sk, req.flags) {
            self.forget(ino, sk, &grp);
            self.leave_group(sk, &grp);
            return Err(e);
        }
        // SAFETY: `sk` is live, and the registry lock is held.
        unsafe { bindings::unix_mcast_set_member(sk) };
        Ok(())
    }

    fn leave(&self, sk: *mut bindings::sock, mut req: Request) -> Result {
        let _guard = self.lock.lock();
        // SAFETY: `sk` is the caller's live socket.
        let (ino, net) = unsafe {
            (
                bindings::unix_mcast_ino(sk) as usize,
                bindings::unix_mcast_net(sk),
            )
        };
        let Holder::Group(grp) = lookup(net, &mut req)? else {
            return Err(ENOENT);
        };
        if !self.forget(ino, sk, &grp) {
            return Err(EINVAL);
        }
        self.leave_group(sk, &grp);
        Ok(())
    }

    fn release(&self, sk: *mut bindings::sock) {
        let _guard = self.lock.lock();
        // SAFETY: `sk` is the caller's socket, being released.
        let ino = unsafe { bindings::unix_mcast_ino(sk) as usize };
        if let Some(joined) = self.forget_all(ino, sk) {
            for grp in joined.groups.iter() {
                self.leave_group(sk, grp);
            }
        }
    }
}

/// What holds an address.
enum Holder {
    /// Nothing: the address is free.
    Free,
    /// A group.
    Group(Arc<Group>),
    /// An ordinary socket.
    Socket,
}

/// Looks up what holds `req`'s address, with the permission checks of
/// `connect()`.
fn lookup(net: *mut bindings::net, req: &mut Request) -> Result<Holder> {
    // SAFETY: `req.addr` holds `req.len` valid bytes.
    let other = unsafe { bindings::unix_mcast_lookup(net, &mut req.addr, req.addr_len()) };
    let other = match from_err_ptr(other) {
        Ok(other) => other,
        Err(e) if e == ENOENT || e == ECONNREFUSED => return Ok(Holder::Free),
        // A socket of another type is bound to the path.
        Err(e) if e == EPROTOTYPE => return Ok(Holder::Socket),
        Err(e) => return Err(e),
    };
    // SAFETY: `other` is live: `unix_mcast_lookup()` returned it held.
    let grp = unsafe { Group::of(other) }.map(Arc::from);
    // SAFETY: Drops the reference `unix_mcast_lookup()` took; a group holds
    // its socket until its last member leaves, under the registry lock.
    unsafe { bindings::sock_put(other) };
    Ok(grp.map_or(Holder::Socket, Holder::Group))
}

/// `setsockopt(SOL_UNIX, optname)`: joins or leaves a group.
///
/// # Safety
///
/// `sk` must be a live AF_UNIX socket owned by the caller, and `optval` must
/// be valid for reading `optlen` bytes.
#[export]
pub unsafe extern "C" fn unix_mcast_setsockopt(
    sk: *mut bindings::sock,
    optname: c_int,
    optval: *const c_void,
    optlen: c_uint,
) -> c_int {
    // SAFETY: The caller guarantees `optval` is valid for `optlen` bytes.
    let val = unsafe { core::slice::from_raw_parts(optval.cast::<u8>(), optlen as usize) };
    match setsockopt(sk, optname, val) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

fn setsockopt(sk: *mut bindings::sock, optname: c_int, val: &[u8]) -> Result {
    // SAFETY: `sk` is the caller's live socket.
    if !unsafe { bindings::unix_mcast_is_dgram(sk) } {
        return Err(EINVAL);
    }
    let join = match optname as u32 {
        bindings::UNIX_ADD_MEMBERSHIP => true,
        bindings::UNIX_DROP_MEMBERSHIP => false,
        _ => return Err(ENOPROTOOPT),
    };
    let req = Request::parse(val, join)?;
    let reg = registry()?;
    if join {
        reg.join(sk, req)
    } else {
        reg.leave(sk, req)
    }
}

/// Sends `skb` from `sk` to the group whose socket is `group`. Returns 0,
/// a negative errno, or `-ESRCH` if the group died and the caller should
/// treat `group` as the closed socket it now is. The caller keeps `skb`.
///
/// # Safety
///
/// `sk` and `group` must be live sockets the caller holds, `group` must be a
/// group's socket, and `skb` a datagram built by `unix_dgram_sendmsg()`.
#[export]
pub unsafe extern "C" fn unix_mcast_sendmsg(
    sk: *mut bindings::sock,
    group: *mut bindings::sock,
    skb: *mut bindings::sk_buff,
    timeo: c_long,
) -> c_int {
    // SAFETY: The caller holds `group`.
    let Some(grp) = (unsafe { Group::of(group) }) else {
        return ESRCH.to_errno();
    };
    match grp.send(sk, skb, timeo) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Leaves every group `sk` joined; called when `sk` is released.
///
/// # Safety
///
/// `sk` must be a live AF_UNIX socket that is being released.
#[export]
pub unsafe extern "C" fn unix_mcast_release(sk: *mut bindings::sock) {
    if let Ok(reg) = registry() {
        reg.release(sk);
    }
}

/// Drops the group's reference held by its socket, which is being destroyed.
///
/// # Safety
///
/// `grp` must be the `mcast_group` of a socket being destroyed.
#[export]
pub unsafe extern "C" fn unix_mcast_group_destruct(grp: *mut bindings::unix_mcast_group) {
    // SAFETY: `grp` came from `Arc::into_raw()` in `Registry::create()`, and
    // the socket's reference is given up here, once.
    drop(unsafe { Arc::from_raw(grp.cast::<Group>().cast_const()) });
}

/// Sets up the registry; called once from `af_unix_init()`.
///
/// # Safety
///
/// Always safe to call.
// Required to be unsafe due to the `#[export]` annotation.
#[export]
pub unsafe extern "C" fn unix_mcast_init() -> c_int {
    let reg = match KBox::pin_init(Registry::new(), GFP_KERNEL) {
        Ok(reg) => reg,
        Err(e) => return e.to_errno(),
    };
    if REGISTRY.populate(reg) {
        0
    } else {
        EBUSY.to_errno()
    }
}

#[kunit_tests(unix_mcast)]
mod tests {
    use super::*;

    fn mreq(path: &[u8], len: u32, flags: u32) -> [u8; MREQ_LEN] {
        let mut v = [0u8; MREQ_LEN];
        v[..2].copy_from_slice(&(bindings::AF_UNIX as u16).to_ne_bytes());
        v[SUN_PATH..SUN_PATH + path.len()].copy_from_slice(path);
        let off = offset_of!(bindings::unix_mreq, umr_addrlen);
        v[off..off + 4].copy_from_slice(&len.to_ne_bytes());
        let off = offset_of!(bindings::unix_mreq, umr_flags);
        v[off..off + 4].copy_from_slice(&flags.to_ne_bytes());
        v
    }

    #[test]
    fn plain_sockaddr() {
        let v = mreq(b"\0grp", 0, 0);
        let r = Request::parse(&v[..SUN_PATH + 4], true).unwrap();
        assert_eq!(r.len, SUN_PATH + 4);
        assert_eq!(r.flags, 0);
        assert_eq!(r.addr.sun_path[1] as u8, b'g');
    }

    #[test]
    fn bad_lengths() {
        let v = mreq(b"/x", 0, 0);
        for len in [0, 1, 2, SOCKADDR_UN_LEN + 1, MREQ_LEN - 1] {
            assert_eq!(Request::parse(&v[..len], true).err(), Some(EINVAL));
        }
    }

    #[test]
    fn bad_family() {
        let mut v = mreq(b"/x", 0, 0);
        v[0] = 0;
        v[1] = 0;
        assert_eq!(Request::parse(&v[..4], true).err(), Some(EINVAL));
    }

    #[test]
    fn mreq_form() {
        let flags = bindings::UNIX_MREQ_DROP_WHEN_FULL | bindings::UNIX_MREQ_NO_LOOP;
        let r = Request::parse(&mreq(b"/tmp/g", 8, flags), true).unwrap();
        assert_eq!(r.len, 8);
        assert_eq!(r.flags, flags);
        for len in [0, 2, SOCKADDR_UN_LEN as u32 + 1, u32::MAX] {
            assert_eq!(
                Request::parse(&mreq(b"/tmp/g", len, 0), true).err(),
                Some(EINVAL)
            );
        }
        assert_eq!(
            Request::parse(&mreq(b"/tmp/g", 8, 4), true).err(),
            Some(EINVAL)
        );
    }

    #[test]
    fn padding_ignored() {
        let mut v = mreq(b"/tmp/g", 8, 0);
        v[SOCKADDR_UN_LEN] = 0xff;
        v[SOCKADDR_UN_LEN + 1] = 0xff;
        assert_eq!(Request::parse(&v, true).unwrap().len, 8);
        assert_eq!(Request::parse(&v, false).unwrap().len, 8);
    }

    #[test]
    fn leave_ignores_flags() {
        for flags in [0, bindings::UNIX_MREQ_NO_LOOP, 4, u32::MAX] {
            let r = Request::parse(&mreq(b"/tmp/g", 8, flags), false).unwrap();
            assert_eq!(r.len, 8);
            assert_eq!(r.flags, 0);
        }
        // The address is still checked.
        assert_eq!(
            Request::parse(&mreq(b"/tmp/g", 2, 4), false).err(),
            Some(EINVAL)
        );
    }
}
