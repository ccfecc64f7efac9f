// SPDX-License-Identifier: GPL-2.0

//! AF_UNIX sockets, groups' sockets and the creator's charge, as the
//! multicast core sees them: the only place, with `skb.rs` and the entry
//! points, that calls into C.

use crate::{group::Group, request::Address, skb::SkbClone};
use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_long},
    prelude::*,
    sync::{
        aref::{ARef, AlwaysRefCounted},
        Arc, ArcBorrow,
    },
    types::{ForeignOwnable, Opaque},
};

/// An AF_UNIX socket, a `struct sock`.
///
/// # Invariants
///
/// The `struct sock` is an AF_UNIX socket, and its reference count is
/// non-zero for as long as a `&Sock` to it exists.
#[repr(transparent)]
pub(crate) struct Sock(Opaque<bindings::sock>);

// SAFETY: A `struct sock` may be used, and its references dropped, from any
// thread.
unsafe impl Send for Sock {}
// SAFETY: The C functions the methods of `Sock` call take the locks they
// need; they may run concurrently on one socket.
unsafe impl Sync for Sock {}

// SAFETY: `sock_hold()` and `sock_put()` count the references of a socket,
// which lives as long as the count is non-zero.
unsafe impl AlwaysRefCounted for Sock {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant, the count is non-zero.
        unsafe { bindings::sock_hold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::sock_put(obj.cast().as_ptr()) };
    }
}

impl Sock {
    /// Borrows a socket the C caller holds.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an AF_UNIX socket that stays referenced for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::sock) -> &'a Self {
        // SAFETY: `Sock` is a transparent wrapper of `struct sock`, and the
        // caller keeps it referenced for `'a`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// Turns a socket reference that C handed over into an `ARef`.
    ///
    /// # Safety
    ///
    /// `ptr` must be an AF_UNIX socket with a reference the caller owns and
    /// gives up.
    unsafe fn from_owned(ptr: *mut bindings::sock) -> ARef<Self> {
        // SAFETY: A socket is never at address zero; the caller transfers
        // its reference.
        unsafe { ARef::from_raw(NonNull::new_unchecked(ptr.cast())) }
    }

    /// The socket's inode number, the key of its memberships.
    pub(crate) fn ino(&self) -> usize {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_ino(self.as_ptr()) as usize }
    }

    /// Whether it is a `SOCK_DGRAM` socket, the only kind that joins.
    pub(crate) fn is_dgram(&self) -> bool {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_is_dgram(self.as_ptr()) }
    }

    /// The number of groups a socket may join, in its network namespace.
    pub(crate) fn max_memberships(&self) -> usize {
        // SAFETY: `self` is a live socket.
        let n = unsafe { bindings::unix_mcast_max_memberships(self.as_ptr()) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Marks the socket as a member, so that its release leaves its groups.
    pub(crate) fn set_member(&self) {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_set_member(self.as_ptr()) };
    }

    /// Looks up the socket bound to `addr` in this socket's network
    /// namespace, with the checks of `connect()`. Takes no lock that another
    /// socket's operation waits for: a path walk may block for as long as
    /// its filesystem wants.
    pub(crate) fn lookup(&self, addr: &Address) -> Result<ARef<Sock>> {
        // SAFETY: `self` is a live socket, and `addr` holds `addr.len()`
        // valid bytes.
        let sk = unsafe {
            bindings::unix_mcast_lookup(self.as_ptr(), addr.as_raw(), addr.len() as c_int)
        };
        let sk = from_err_ptr(sk)?;
        // SAFETY: `unix_mcast_lookup()` returns a socket with a reference
        // that is now ours.
        Ok(unsafe { Self::from_owned(sk) })
    }

    /// The group whose socket this is, if it is a group's socket.
    pub(crate) fn group(&self) -> Option<ArcBorrow<'_, Group>> {
        // SAFETY: `self` is a live socket.
        let grp = unsafe { bindings::unix_mcast_group_of(self.as_ptr()) };
        if grp.is_null() {
            return None;
        }
        // SAFETY: A group's socket owns the reference `GroupFile::create()`
        // made with `into_foreign()`, until its destructor gives it up;
        // `self` keeps the socket, hence the group, alive for the borrow.
        Some(unsafe { <Arc<Group> as ForeignOwnable>::borrow(grp) })
    }

    /// Whether `self` may join the group whose socket is `group`: the checks
    /// of `connect()`ing to it (LSMs: `security_unix_may_send()`), and for a
    /// `blocking` membership the group's policy (`EPERM`: the current task
    /// has neither the effective uid of the group's creator nor
    /// `CAP_NET_ADMIN` in its network namespace). `EAGAIN` if that socket was
    /// released meanwhile.
    pub(crate) fn may_join(&self, group: &Sock, blocking: bool) -> Result {
        // SAFETY: Both are live sockets.
        to_result(unsafe { bindings::unix_mcast_may_join(self.as_ptr(), group.as_ptr(), blocking) })
    }

    /// Whether `self` may send to `member` (LSMs).
    pub(crate) fn may_send(&self, member: &Sock) -> Result {
        // SAFETY: Both are live sockets.
        to_result(unsafe { bindings::unix_mcast_may_send(self.as_ptr(), member.as_ptr()) })
    }

    /// Whether a unicast datagram would find this member full.
    pub(crate) fn full(&self) -> bool {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_full(self.as_ptr()) }
    }

    /// Counts a datagram a drop-when-full member did not get.
    pub(crate) fn count_drop(&self) {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_count_drop(self.as_ptr()) };
    }

    /// Queues `clone` to this member without waking it, or gives it back
    /// with the reason it was not queued. Takes only the member's
    /// spinlocks: it runs in a group's ordered section.
    pub(crate) fn enqueue(&self, clone: SkbClone) -> Result<(), NotQueued> {
        let skb = clone.into_raw();
        // SAFETY: `self` is a live socket, and `skb` a clone made for it
        // that we own; on success the member's queue owns it.
        let reason = unsafe { bindings::unix_mcast_enqueue(self.as_ptr(), skb) };
        if reason == 0 {
            return Ok(());
        }
        // SAFETY: A clone that was not queued is still ours.
        Err(NotQueued(unsafe { SkbClone::from_raw(skb) }, reason))
    }

    /// Frees a clone this member's queue did not take, counting it as a drop
    /// of the member's if it was full.
    pub(crate) fn drop_clone(&self, clone: NotQueued) {
        let NotQueued(clone, reason) = clone;
        // SAFETY: `self` is a live socket, and the clone is ours to free.
        unsafe { bindings::unix_mcast_drop(self.as_ptr(), clone.into_raw(), reason) };
    }

    /// Wakes this member for the clones queued to it.
    pub(crate) fn data_ready(&self) {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_data_ready(self.as_ptr()) };
    }

    /// Waits once on this group socket's wait queue, interruptibly and, if
    /// `exclusive`, exclusively, if `blocked()`, checked once the task is on
    /// the queue, says so and no signal is pending; for at most `timeo`.
    /// Returns the time left. Whoever makes `blocked()` false wakes the
    /// queue afterwards: a blocking member's relay, or a membership change.
    /// `blocked()` runs in `TASK_INTERRUPTIBLE`: it must not sleep.
    pub(crate) fn wait_group(
        &self,
        timeo: c_long,
        exclusive: bool,
        blocked: impl FnOnce() -> bool,
    ) -> c_long {
        let wait = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `wait` is valid memory, which stays in place until it is
        // off the queue (`unix_mcast_wait_finish()` below).
        unsafe { bindings::init_wait(wait.get()) };
        // SAFETY: `self` is a live group socket; see above for `wait`.
        unsafe { bindings::unix_mcast_wait_prepare(self.as_ptr(), wait.get(), exclusive) };
        let left = if blocked() && !kernel::current!().signal_pending() {
            // SAFETY: Sleeps; the timeout may be any value.
            unsafe { bindings::schedule_timeout(timeo) }
        } else {
            timeo
        };
        // SAFETY: As for `unix_mcast_wait_prepare()`.
        unsafe { bindings::unix_mcast_wait_finish(self.as_ptr(), wait.get()) };
        left
    }

    /// Wakes one sender waiting on this group socket, and its pollers.
    pub(crate) fn wake_one(&self) {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_wake_one(self.as_ptr()) };
    }

    /// Wakes every sender waiting on this group socket, and its pollers.
    pub(crate) fn wake_all(&self) {
        // SAFETY: `self` is a live socket.
        unsafe { bindings::unix_mcast_wake_all(self.as_ptr()) };
    }
}

/// A clone a member's queue did not take, and the reason (an `enum
/// skb_drop_reason`).
pub(crate) struct NotQueued(SkbClone, u32);

/// A blocking member's wake-up relay to its group: while it exists, every
/// wake-up of the member's senders (a read that makes room, a shutdown, its
/// close) wakes one sender waiting on the group, and the group's pollers.
///
/// # Invariants
///
/// `0` was returned by `unix_mcast_relay_add()`, and is owned by this.
pub(crate) struct Relay(NonNull<bindings::unix_mcast_relay>);

// SAFETY: A relay may be removed from any thread.
unsafe impl Send for Relay {}
// SAFETY: `&Relay` gives access to nothing.
unsafe impl Sync for Relay {}

impl Relay {
    /// Relays the wake-ups of `member` to the group whose socket is `group`.
    pub(crate) fn new(member: &Sock, group: &Sock) -> Result<Self> {
        // SAFETY: Both are live sockets.
        let relay = unsafe { bindings::unix_mcast_relay_add(member.as_ptr(), group.as_ptr()) };
        // INVARIANT: A non-null return is a relay that is now ours.
        NonNull::new(relay).map(Self).ok_or(ENOMEM)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the relay is ours.
        unsafe { bindings::unix_mcast_relay_del(self.0.as_ptr()) };
    }
}

/// The file of a group's socket, which owns the socket.
///
/// The socket was created with the credentials of the task that created the
/// group, and its file keeps them (`f_cred`), so that every LSM sees the
/// group as a socket its creator bound. Dropping it releases the socket as
/// the last `fput()` of any socket's file does.
///
/// # Invariants
///
/// `file` is a socket file made by `unix_mcast_group_create()`, of which
/// this owns a reference.
pub(crate) struct GroupFile {
    file: NonNull<bindings::file>,
}

// SAFETY: A file reference may be dropped from any thread, and the methods
// of `GroupFile` may run on any thread.
unsafe impl Send for GroupFile {}
// SAFETY: See above; `&GroupFile` only reaches its socket.
unsafe impl Sync for GroupFile {}

impl GroupFile {
    /// Creates an unbound socket for the group `grp`, in the network
    /// namespace of `creator`, with the current task's credentials and LSM
    /// checks. The socket owns the reference `grp`, which its destructor
    /// drops.
    pub(crate) fn create(creator: &Sock, grp: Arc<Group>) -> Result<Self> {
        // SAFETY: `creator` is a live socket.
        let file = from_err_ptr(unsafe { bindings::unix_mcast_group_create(creator.as_ptr()) })?;
        // INVARIANT: The reference returned is now ours.
        let file = Self {
            // SAFETY: `from_err_ptr()` let no error, hence no null, through.
            file: unsafe { NonNull::new_unchecked(file) },
        };
        // SAFETY: The socket was just created: it is live, not bound, and no
        // group's yet.
        unsafe { bindings::unix_mcast_group_attach(file.sock().as_ptr(), grp.into_foreign()) };
        Ok(file)
    }

    /// The group's socket.
    pub(crate) fn sock(&self) -> &Sock {
        // SAFETY: By the type invariant the file is a live socket file; it
        // owns its socket for as long as it is referenced.
        unsafe { Sock::from_raw(bindings::unix_mcast_file_sock(self.file.as_ptr())) }
    }

    /// Unhashes the socket: its address is free from here on. Takes only the
    /// AF_UNIX hash locks, for a moment.
    pub(crate) fn unhash(&self) {
        // SAFETY: The socket is live.
        unsafe { bindings::unix_mcast_group_unhash(self.sock().as_ptr()) };
    }
}

impl Sock {
    /// Binds this group's socket to `addr`, as `bind()` would for the current
    /// task, or over a socket file that no socket is bound to. `EAGAIN` if
    /// another socket was bound there meanwhile. Takes no lock but those of
    /// `bind()`.
    pub(crate) fn bind_group(&self, addr: &Address) -> Result {
        // SAFETY: `self` is a live socket, and `addr` holds `addr.len()`
        // valid bytes. `unix_mcast_group_bind()` binds as bind(2) binds a
        // socket (which fails for one already bound); it is called on a
        // group's socket, whose file the group keeps until it dies, so the
        // socket still has its `struct socket`.
        to_result(unsafe {
            bindings::unix_mcast_group_bind(self.as_ptr(), addr.as_raw(), addr.len() as c_int)
        })
    }
}

impl Drop for GroupFile {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this owns a reference on the file.
        unsafe { bindings::fput(self.file.as_ptr()) };
    }
}

/// A group charged to its creator's user, in every user namespace up to the
/// initial one (`/proc/sys/user/max_unix_mcast_groups`).
///
/// # Invariants
///
/// `0` was returned by `unix_mcast_charge()` and is charged once, by this.
pub(crate) struct Charge(NonNull<bindings::ucounts>);

// SAFETY: A charge may be given back from any thread.
unsafe impl Send for Charge {}
// SAFETY: `&Charge` gives access to nothing.
unsafe impl Sync for Charge {}

impl Charge {
    /// Charges one group to the current task's user: `ENOSPC` beyond the
    /// limit of any user namespace up to the initial one.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Always safe to call.
        let ucounts = unsafe { bindings::unix_mcast_charge() };
        // INVARIANT: A non-null return is a charge that is now ours.
        NonNull::new(ucounts).map(Self).ok_or(ENOSPC)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the charge is ours to give back.
        unsafe { bindings::unix_mcast_uncharge(self.0.as_ptr()) };
    }
}

/// Compares two sockets by identity.
pub(crate) fn same(a: &Sock, b: &Sock) -> bool {
    ptr::eq(a, b)
}
