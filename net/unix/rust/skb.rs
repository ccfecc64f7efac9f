// SPDX-License-Identifier: GPL-2.0

//! Datagrams sent to a group, and their clones.

use crate::sock::Sock;
use core::{mem::ManuallyDrop, ptr::NonNull};
use kernel::{bindings, prelude::*, types::Opaque};

/// A datagram being sent to a group, built by `unix_dgram_sendmsg()`.
///
/// # Invariants
///
/// The `struct sk_buff` is a complete AF_UNIX datagram that the C caller
/// prepared with `unix_mcast_dgram_begin()` and owns, and neither frees nor
/// changes while a `&Datagram` exists.
#[repr(transparent)]
pub(crate) struct Datagram(Opaque<bindings::sk_buff>);

impl Datagram {
    /// Borrows the datagram of `unix_dgram_sendmsg()`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a datagram built by `unix_dgram_sendmsg()` and prepared
    /// with `unix_mcast_dgram_begin()`, that the caller owns and neither
    /// frees nor changes for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::sk_buff) -> &'a Self {
        // SAFETY: `Datagram` is a transparent wrapper of `struct sk_buff`,
        // and the caller keeps it for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// Clones the datagram for `member`: the payload is shared, and the
    /// member's socket filter applies to the clone. A `blocking` member's
    /// clone is charged to `sender`, a drop-when-full member's to the
    /// member's receive buffer. `ENOBUFS` if it cannot be allocated or, for
    /// a blocking member, trimmed or charged.
    pub(crate) fn clone_for(&self, sender: &Sock, member: &Sock, blocking: bool) -> Result<Cloned> {
        let mut clone = core::ptr::null_mut();
        // SAFETY: By the type invariant `self` is a prepared datagram, of
        // `sender`, and both sockets are live.
        let err = unsafe {
            bindings::unix_mcast_clone(
                self.0.get(),
                sender.as_ptr(),
                member.as_ptr(),
                blocking,
                &mut clone,
            )
        };
        match err {
            0 => {}
            e if e == EPERM.to_errno() => return Ok(Cloned::Filtered),
            e if e == ENOSPC.to_errno() => return Ok(Cloned::Dropped),
            e => return Err(Error::from_errno(e)),
        }
        // INVARIANT: On success the clone is ours, and not queued.
        Ok(NonNull::new(clone).map_or(Cloned::Filtered, |c| Cloned::Clone(SkbClone(c))))
    }

    /// Before a send that freed its clones makes them again: what the
    /// freed clones' trimmed heads counted (see `unix_mcast_clone()`) no
    /// longer counts.
    pub(crate) fn restart(&self) {
        // SAFETY: By the type invariant `self` is a prepared datagram.
        unsafe { bindings::unix_mcast_dgram_restart(self.0.get()) };
    }
}

/// What [`Datagram::clone_for`] made for a member.
pub(crate) enum Cloned {
    /// The member's clone.
    Clone(SkbClone),
    /// The member's socket filter dropped it.
    Filtered,
    /// A drop of a drop-when-full member's (its receive buffer is full, or
    /// the trim cannot allocate), to count once the send is done.
    Dropped,
}

/// A clone of a datagram, made for one member and not queued yet.
///
/// A clone that is dropped rather than queued is freed, so that a send that
/// fails part way leaks nothing.
///
/// # Invariants
///
/// `0` is a clone made by `unix_mcast_clone()`, owned by this, not queued.
pub(crate) struct SkbClone(NonNull<bindings::sk_buff>);

// SAFETY: An skb may be queued or freed from any thread.
unsafe impl Send for SkbClone {}

impl SkbClone {
    /// Takes back a clone that a C function did not take.
    ///
    /// # Safety
    ///
    /// `ptr` must be a clone made by `unix_mcast_clone()`, not queued, whose
    /// ownership the caller gives up.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Self {
        // INVARIANT: The caller hands over a clone it owns.
        // SAFETY: A clone is never at address zero.
        Self(unsafe { NonNull::new_unchecked(ptr) })
    }

    /// Gives up ownership, to the C function that queues or frees it.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        ManuallyDrop::new(self).0.as_ptr()
    }
}

impl Drop for SkbClone {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the clone is ours, and not queued.
        unsafe { bindings::unix_mcast_free_skb(self.0.as_ptr()) };
    }
}
