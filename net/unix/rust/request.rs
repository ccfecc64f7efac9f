// SPDX-License-Identifier: GPL-2.0

//! Option values of `UNIX_ADD_MEMBERSHIP` and `UNIX_DROP_MEMBERSHIP`.
//!
//! Parsed from bytes in safe Rust. Every field the kernel does not use must
//! be zero, so that it can be given a meaning later.

use core::mem::{offset_of, size_of};
use kernel::{bindings, prelude::*};

/// `offsetof(struct sockaddr_un, sun_path)`.
const SUN_PATH: usize = offset_of!(bindings::sockaddr_un, sun_path);
/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN_LEN: usize = size_of::<bindings::sockaddr_un>();
/// `sizeof(struct unix_mreq)`.
const MREQ_LEN: usize = size_of::<bindings::unix_mreq>();
/// `UNIX_MREQ_DROP_WHEN_FULL`: the member never holds senders back.
pub(crate) const DROP_WHEN_FULL: u32 = bindings::UNIX_MREQ_DROP_WHEN_FULL;
/// `UNIX_MREQ_NO_LOOP`: the member does not get its own datagrams.
pub(crate) const NO_LOOP: u32 = bindings::UNIX_MREQ_NO_LOOP;
/// The membership flags userspace may set.
pub(crate) const MREQ_FLAGS: u32 = DROP_WHEN_FULL | NO_LOOP;

/// Whether a membership with `flags` holds senders back when it is full.
pub(crate) fn blocking(flags: u32) -> bool {
    flags & DROP_WHEN_FULL == 0
}

const RESERVED: usize = offset_of!(bindings::unix_mreq, umr_reserved);
const ADDRLEN: usize = offset_of!(bindings::unix_mreq, umr_addrlen);
const FLAGS: usize = offset_of!(bindings::unix_mreq, umr_flags);

// The uapi layout the parser relies on: `umr_family` and `umr_path` are laid
// out as a `struct sockaddr_un`, and the structure has no padding.
const _: () = assert!(SUN_PATH == 2 && SOCKADDR_UN_LEN == 110 && MREQ_LEN == 120);
const _: () = assert!(
    offset_of!(bindings::unix_mreq, umr_family) == 0
        && offset_of!(bindings::unix_mreq, umr_path) == SUN_PATH
        && RESERVED == SOCKADDR_UN_LEN
);
const _: () = assert!(ADDRLEN == RESERVED + 2 && FLAGS == ADDRLEN + 4 && MREQ_LEN == FLAGS + 4);

/// An AF_UNIX address as a join or a leave gave it.
///
/// # Invariants
///
/// `SUN_PATH < len <= SOCKADDR_UN_LEN`, `raw.sun_family == AF_UNIX`, and the
/// bytes of `raw.sun_path` beyond `len` are zero.
#[derive(Clone)]
pub(crate) struct Address {
    raw: bindings::sockaddr_un,
    len: usize,
}

impl Address {
    /// The address, for the C side: a `struct sockaddr_un` of `len()` bytes.
    pub(crate) fn as_raw(&self) -> &bindings::sockaddr_un {
        &self.raw
    }

    /// Its length, as for `bind()`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether it names an abstract address rather than a path.
    pub(crate) fn is_abstract(&self) -> bool {
        self.raw.sun_path[0] == 0
    }

    fn path(&self) -> impl Iterator<Item = u8> + '_ {
        self.raw.sun_path[..self.len - SUN_PATH].iter().copied()
    }
}

impl PartialEq for Address {
    /// The same bytes, as given.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.path().eq(other.path())
    }
}

/// A validated `UNIX_ADD_MEMBERSHIP` or `UNIX_DROP_MEMBERSHIP` request.
///
/// # Invariants
///
/// `flags` has no bit outside [`MREQ_FLAGS`], and is zero for a leave.
pub(crate) struct Request {
    pub(crate) addr: Address,
    pub(crate) flags: u32,
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
    /// `bind()` (the form of the 2003 proposal). A non-zero `umr_reserved`,
    /// an unknown flag, or any flag on a leave is `EINVAL`.
    pub(crate) fn parse(val: &[u8], join: bool) -> Result<Self> {
        let (raw, len, flags) = if val.len() == MREQ_LEN {
            if val[RESERVED..ADDRLEN].iter().any(|b| *b != 0) {
                return Err(EINVAL);
            }
            let len = usize::try_from(read_u32(val, ADDRLEN)).map_err(|_| EINVAL)?;
            (&val[..SOCKADDR_UN_LEN], len, read_u32(val, FLAGS))
        } else {
            (val, val.len(), 0)
        };

        if len <= SUN_PATH || len > SOCKADDR_UN_LEN {
            return Err(EINVAL);
        }
        if flags & !MREQ_FLAGS != 0 || (!join && flags != 0) {
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
            *d = *s;
        }
        // INVARIANT: `len`, the family and the flags are checked above, and
        // the path beyond `len` is zero from its initialisation.
        Ok(Self {
            addr: Address { raw: addr, len },
            flags,
        })
    }
}

/// What the address of a leave resolved to, in the leaving socket's list of
/// memberships.
pub(crate) enum Resolved {
    /// A group the socket is a member of, at this index of its list.
    Member(usize),
    /// A group the socket is not a member of.
    OtherGroup,
    /// No group: nothing, or a socket that is not a group's.
    Nothing,
    /// The lookup failed.
    Failed(Error),
}

/// The membership a leave removes: that of the group its address resolves
/// to or, failing that (the path was renamed, unlinked, or now names another
/// group), the membership joined with the very same address, `by_addr`.
pub(crate) fn leave_index(resolved: Resolved, by_addr: Option<usize>) -> Result<usize> {
    match (resolved, by_addr) {
        (Resolved::Member(i), _) | (_, Some(i)) => Ok(i),
        (Resolved::OtherGroup, None) => Err(EINVAL),
        (Resolved::Nothing, None) => Err(ENOENT),
        (Resolved::Failed(e), None) => Err(e),
    }
}

#[kunit_tests(unix_mcast_request)]
mod tests {
    use super::*;

    fn mreq(path: &[u8], len: u32, flags: u32) -> [u8; MREQ_LEN] {
        let mut v = [0u8; MREQ_LEN];
        v[..2].copy_from_slice(&(bindings::AF_UNIX as u16).to_ne_bytes());
        v[SUN_PATH..SUN_PATH + path.len()].copy_from_slice(path);
        v[ADDRLEN..ADDRLEN + 4].copy_from_slice(&len.to_ne_bytes());
        v[FLAGS..FLAGS + 4].copy_from_slice(&flags.to_ne_bytes());
        v
    }

    #[test]
    fn plain_sockaddr() {
        let v = mreq(b"\0grp", 0, 0);
        let r = Request::parse(&v[..SUN_PATH + 4], true).unwrap();
        assert_eq!(r.addr.len(), SUN_PATH + 4);
        assert_eq!(r.flags, 0);
        assert!(r.addr.is_abstract());
        assert_eq!(r.addr.as_raw().sun_path[1], b'g');
        // The plain form of a leave.
        assert!(Request::parse(&v[..SUN_PATH + 4], false).is_ok());
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
        assert_eq!(
            Request::parse(&mreq(b"/x", 4, 0)[..], true).map(|_| ()),
            Ok(())
        );
    }

    #[test]
    fn mreq_form() {
        let flags = MREQ_FLAGS;
        let r = Request::parse(&mreq(b"/tmp/g", 8, flags), true).unwrap();
        assert_eq!(r.addr.len(), 8);
        assert_eq!(r.flags, flags);
        assert!(!r.addr.is_abstract());
        for len in [0, 2, SOCKADDR_UN_LEN as u32 + 1, u32::MAX] {
            assert_eq!(
                Request::parse(&mreq(b"/tmp/g", len, 0), true).err(),
                Some(EINVAL)
            );
        }
    }

    #[test]
    fn unknown_flags() {
        for flags in [4, 0x8000_0000, u32::MAX] {
            assert_eq!(
                Request::parse(&mreq(b"/tmp/g", 8, flags), true).err(),
                Some(EINVAL)
            );
        }
    }

    #[test]
    fn reserved_must_be_zero() {
        for (b0, b1) in [(1, 0), (0, 1), (0xff, 0xff)] {
            let mut v = mreq(b"/tmp/g", 8, 0);
            v[RESERVED] = b0;
            v[RESERVED + 1] = b1;
            assert_eq!(Request::parse(&v, true).err(), Some(EINVAL));
            assert_eq!(Request::parse(&v, false).err(), Some(EINVAL));
        }
    }

    #[test]
    fn leave_flags_must_be_zero() {
        assert!(Request::parse(&mreq(b"/tmp/g", 8, 0), false).is_ok());
        for flags in [
            bindings::UNIX_MREQ_NO_LOOP,
            bindings::UNIX_MREQ_DROP_WHEN_FULL,
            4,
        ] {
            assert_eq!(
                Request::parse(&mreq(b"/tmp/g", 8, flags), false).err(),
                Some(EINVAL)
            );
        }
    }

    #[test]
    fn address_equality() {
        let a = Request::parse(&mreq(b"/tmp/g", 8, 0), true).unwrap().addr;
        let b = Request::parse(&mreq(b"/tmp/g", 8, 1), true).unwrap().addr;
        let c = Request::parse(&mreq(b"/tmp/g", 9, 0), true).unwrap().addr;
        let d = Request::parse(&mreq(b"/tmp/h", 8, 0), true).unwrap().addr;
        assert!(a == b);
        assert!(a != c);
        assert!(a != d);
    }

    #[test]
    fn leave_picks_resolved_group_first() {
        assert_eq!(leave_index(Resolved::Member(2), Some(0)), Ok(2));
        assert_eq!(leave_index(Resolved::Member(1), None), Ok(1));
    }

    #[test]
    fn leave_falls_back_to_joined_address() {
        assert_eq!(leave_index(Resolved::OtherGroup, Some(3)), Ok(3));
        assert_eq!(leave_index(Resolved::Nothing, Some(0)), Ok(0));
        assert_eq!(leave_index(Resolved::Failed(ENOENT), Some(1)), Ok(1));
    }

    #[test]
    fn leave_errors() {
        assert_eq!(leave_index(Resolved::OtherGroup, None), Err(EINVAL));
        assert_eq!(leave_index(Resolved::Nothing, None), Err(ENOENT));
        assert_eq!(leave_index(Resolved::Failed(EACCES), None), Err(EACCES));
    }
}
