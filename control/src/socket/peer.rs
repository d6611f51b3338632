//! Who may use the control socket: root, or a member of the configured control group.
//!
//! Membership is checked the way the kernel would grant file access to the group: the
//! peer's effective gid (from SO_PEERCRED) or any supplementary group of the peer's user
//! (getgrouplist, which goes through NSS, so LDAP/sssd groups count too). The lookups may
//! block on NSS, so the server runs [`AccessPolicy::allows`] on tokio's blocking pool.

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User, getgrouplist};

use super::SocketError;

/// The access rule of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPolicy {
    group: Option<Gid>,
}

impl AccessPolicy {
    /// Only root.
    pub fn root_only() -> Self {
        AccessPolicy { group: None }
    }

    /// Root and the members of `group` (a group name, or a number).
    pub fn resolve(group: Option<&str>) -> Result<Self, SocketError> {
        let Some(name) = group else {
            return Ok(AccessPolicy::root_only());
        };
        let gid = match Group::from_name(name) {
            Ok(Some(g)) => g.gid,
            _ => name
                .parse::<u32>()
                .map(Gid::from_raw)
                .map_err(|_| SocketError::UnknownGroup(name.to_string()))?,
        };
        Ok(AccessPolicy { group: Some(gid) })
    }

    /// The control group's gid, if one is configured.
    pub fn gid(&self) -> Option<u32> {
        self.group.map(Gid::as_raw)
    }

    /// True when a peer with these credentials may use the socket.
    pub fn allows(&self, uid: u32, gid: u32) -> bool {
        if uid == 0 {
            return true;
        }
        match self.group {
            None => false,
            Some(group) => gid == group.as_raw() || user_in_group(uid, group.as_raw()),
        }
    }
}

/// True when the user `uid` has `gid` as its primary or a supplementary group.
pub fn user_in_group(uid: u32, gid: u32) -> bool {
    let Ok(Some(user)) = User::from_uid(Uid::from_raw(uid)) else {
        return false;
    };
    let Ok(name) = CString::new(user.name) else {
        return false;
    };
    getgrouplist(&name, user.gid)
        .map(|groups| groups.contains(&Gid::from_raw(gid)))
        .unwrap_or(false)
}
