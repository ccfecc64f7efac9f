// SPDX-License-Identifier: GPL-2.0

//! AF_UNIX multicast groups.
//!
//! A process joins a named AF_UNIX address with
//! `setsockopt(SOL_UNIX, UNIX_ADD_MEMBERSHIP)`; every datagram sent to that
//! address is cloned with `skb_clone()` and queued to every member. See
//! `Documentation/networking/af_unix_multicast.rst` for the contract.
//!
//! A group is an AF_UNIX `SOCK_DGRAM` socket with a file, created with the
//! credentials of the task whose join created it and bound to the group's
//! address with `bind()`'s checks, so that every LSM sees it as the socket
//! its creator bound there. The first join of a free address creates it;
//! it dies when its last member leaves, and its address is free at once.
//!
//! The core is split as follows:
//!
//! - this file: the entry points called from `net/unix/af_unix.c`, each of
//!   which converts its C pointers once and calls safe code;
//! - `sock.rs` and `skb.rs`: the C objects, each wrapped once (sockets,
//!   groups' socket files, the creator's charge, datagrams and their clones),
//!   over the primitives of `net/unix/af_unix_mcast.h`;
//! - `request.rs`: option values, parsed in safe Rust, with KUnit tests;
//! - `registry.rs`: which groups each socket joined (an XArray keyed by the
//!   socket's inode number), joins, leaves and releases;
//! - `group.rs`: a group's members and the fan-out.
//!
//! # Locking
//!
//! There is no global lock. The lock order is: a socket's memberships lock
//! (`registry.rs`), then a group's mutex, then its ordered section's
//! spinlock (`group.rs`), then a member's `unix_state_lock()`; the
//! registry's XArray spinlock is taken alone, and a group's member list
//! spinlock is a leaf (`poll()` takes it under the polling socket's
//! `unix_state_lock()`). No path lookup, permission or LSM check of a join,
//! and no `bind()`, runs under any of them; a send takes no mutex, only its
//! group's two spinlocks and, in the ordered section, its members' state
//! and queue locks.

mod group;
mod registry;
mod request;
mod skb;
mod sock;

use kernel::{
    bindings,
    ffi::{c_int, c_long, c_uint, c_void},
    prelude::*,
    sync::{Arc, SetOnce},
    types::ForeignOwnable,
};
use {group::Group, registry::Registry, request::Request, skb::Datagram, sock::Sock};

static REGISTRY: SetOnce<Pin<KBox<Registry>>> = SetOnce::new();

fn registry() -> Result<&'static Registry> {
    REGISTRY
        .as_ref()
        .map(|r| r.as_ref().get_ref())
        .ok_or(ENOMEM)
}

fn setsockopt(sk: &Sock, optname: c_int, val: &[u8]) -> Result {
    if !sk.is_dgram() {
        return Err(EINVAL);
    }
    let join = match u32::try_from(optname) {
        Ok(bindings::UNIX_ADD_MEMBERSHIP) => true,
        Ok(bindings::UNIX_DROP_MEMBERSHIP) => false,
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

/// `setsockopt(SOL_UNIX, optname)`: joins or leaves a group.
///
/// # Safety
///
/// `sk` must be a live AF_UNIX socket the caller holds, and `optval` must be
/// valid for reading `optlen` bytes.
#[export]
pub unsafe extern "C" fn unix_mcast_setsockopt(
    sk: *mut bindings::sock,
    optname: c_int,
    optval: *const c_void,
    optlen: c_uint,
) -> c_int {
    // SAFETY: The caller holds `sk` for the call.
    let sk = unsafe { Sock::from_raw(sk) };
    // SAFETY: The caller guarantees `optval` is valid for `optlen` bytes.
    let val = unsafe { core::slice::from_raw_parts(optval.cast::<u8>(), optlen as usize) };
    match setsockopt(sk, optname, val) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Sends `skb` from `sk` to the group whose socket is `group`, to which the
/// checks of `unix_dgram_sendmsg()` allowed `sk` to send. Returns 0 or a
/// negative errno. The caller keeps `skb`.
///
/// # Safety
///
/// `sk` and `group` must be live sockets the caller holds, `group` must be a
/// group's socket, and `skb` a datagram built by `unix_dgram_sendmsg()` that
/// the caller neither frees nor changes during the call.
#[export]
pub unsafe extern "C" fn unix_mcast_sendmsg(
    sk: *mut bindings::sock,
    group: *mut bindings::sock,
    skb: *mut bindings::sk_buff,
    timeo: c_long,
) -> c_int {
    // SAFETY: The caller holds both sockets for the call.
    let (sk, group) = unsafe { (Sock::from_raw(sk), Sock::from_raw(group)) };
    // SAFETY: The caller owns `skb`, prepared with `unix_mcast_dgram_begin()`,
    // and keeps it unchanged for the call.
    let skb = unsafe { Datagram::from_raw(skb) };
    let Some(grp) = group.group() else {
        return EINVAL.to_errno();
    };
    match grp.send(sk, group, skb, timeo) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Whether a send by `sk` to the group whose socket is `group` would wait
/// for a blocking member's room: what `poll()` reports for a socket
/// connected to a group. Takes only spinlocks.
///
/// # Safety
///
/// `sk` and `group` must be live sockets the caller holds.
#[export]
pub unsafe extern "C" fn unix_mcast_blocked(
    sk: *mut bindings::sock,
    group: *mut bindings::sock,
) -> bool {
    // SAFETY: The caller holds both sockets for the call.
    let (sk, group) = unsafe { (Sock::from_raw(sk), Sock::from_raw(group)) };
    group.group().is_some_and(|grp| grp.blocked(sk))
}

/// The inode number of a blocking member of the group whose socket is
/// `group` that a send by `sk` would wait for, or 0 if none would:
/// `getsockopt(UNIX_MULTICAST_BLOCKED_BY)`.
///
/// # Safety
///
/// `sk` and `group` must be live sockets the caller holds.
#[export]
pub unsafe extern "C" fn unix_mcast_blocked_by(
    sk: *mut bindings::sock,
    group: *mut bindings::sock,
) -> u64 {
    // SAFETY: The caller holds both sockets for the call.
    let (sk, group) = unsafe { (Sock::from_raw(sk), Sock::from_raw(group)) };
    group
        .group()
        .and_then(|grp| grp.blocked_by(sk))
        .map_or(0, |ino| ino as u64)
}

/// Leaves every group `sk` joined; called when `sk` is released.
///
/// # Safety
///
/// `sk` must be a live AF_UNIX socket that is being released.
#[export]
pub unsafe extern "C" fn unix_mcast_release(sk: *mut bindings::sock) {
    // SAFETY: The caller holds `sk` until it returns.
    let sk = unsafe { Sock::from_raw(sk) };
    if let Ok(reg) = registry() {
        reg.release(sk);
    }
}

/// Drops the reference on a group that its socket held; the socket is being
/// destroyed.
///
/// # Safety
///
/// `grp` must be the `mcast_group` of a socket being destroyed, given up
/// once.
#[export]
pub unsafe extern "C" fn unix_mcast_group_destruct(grp: *mut c_void) {
    // SAFETY: `grp` comes from `into_foreign()` in `GroupFile::create()`, and
    // the socket gives its reference up here, once.
    drop(unsafe { <Arc<Group> as ForeignOwnable>::from_foreign(grp) });
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
