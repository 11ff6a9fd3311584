//! Who may see what: the users and groups of a shared library, and what each
//! may see ([`Visibility`]), which every search and every read of an image is
//! narrowed to inside the engine (as [`crate::query::Filters::within`]).
//!
//! A user has an API token, kept only as an Argon2id hash (PHC string) beside a
//! short public id that the token starts with (`scry_<id>_<secret>`), so a token
//! is checked against one hash, not against every user's. A user sees the
//! images under their own roots and their groups' roots; an admin sees all.
//! The list lives with the library (both homes: [`crate::home::Home::access`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The users and groups of a library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    #[serde(default)]
    pub users: BTreeMap<String, User>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
}

/// A person (or a program) who may use the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The public part of the token (`scry_<token_id>_…`): finds the user.
    pub token_id: String,
    /// Argon2id hash of the whole token (PHC string); the token itself is
    /// never stored.
    pub token_hash: String,
    /// Folders whose images this user sees (besides their groups').
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Sees everything and may start a rescan.
    #[serde(default)]
    pub admin: bool,
}

/// A set of folders shared by its members (and by the groups a trusted proxy
/// says a person belongs to).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default)]
    pub roots: Vec<PathBuf>,
}

/// What a viewer may see.
#[derive(Debug, Clone, PartialEq)]
pub enum Visibility {
    /// Everything (an admin, or a server without users).
    All,
    /// The images under these folders (whole path components); none when empty.
    Within(Vec<PathBuf>),
}

impl Visibility {
    /// Whether an image at `path` may be seen.
    pub fn sees(&self, path: &Path) -> bool {
        match self {
            Visibility::All => true,
            Visibility::Within(roots) => under_any(path, roots),
        }
    }

    /// The folders to narrow a search to (`None`: no narrowing).
    pub fn within(&self) -> Option<Vec<PathBuf>> {
        match self {
            Visibility::All => None,
            Visibility::Within(r) => Some(r.clone()),
        }
    }
}

/// Whether `path` is under one of `roots` (whole components: `/a/bc` is not
/// under `/a/b`).
pub fn under_any(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

/// Longest user or group name.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a user or group name: 1–64 of letters, digits and `. _ @ -` (e-mail
/// addresses and the names SSO proxies send fit).
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{kind} name {name:?}: use 1 to {MAX_NAME_CHARS} letters, digits, '.', '_', '@' or '-'"
        )))
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::InvalidArgument(format!("no randomness for a token: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash_token(token: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| Error::InvalidArgument(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    Ok(Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string())
}

/// A hash no token matches, checked when a token names no user so that an
/// unknown id costs as much time as a wrong secret.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_token("scry decoy").expect("a decoy hash"))
}

impl Access {
    /// Whether any user is defined: then every request needs one.
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// Adds a user and returns their token (shown once: only its hash is kept).
    pub fn add_user(&mut self, name: &str, roots: &[PathBuf], admin: bool) -> Result<String> {
        check_name("user", name)?;
        if self.users.contains_key(name) {
            return Err(Error::InvalidArgument(format!(
                "user {name} exists already (scry user token {name} gives them a new token)"
            )));
        }
        let (token, user) = self.issue(roots.to_vec(), Vec::new(), admin)?;
        self.users.insert(name.to_string(), user);
        Ok(token)
    }

    /// A new token for an existing user; the old one stops working.
    pub fn new_token(&mut self, name: &str) -> Result<String> {
        let old = self.user(name)?.clone();
        let (token, user) = self.issue(old.roots, old.groups, old.admin)?;
        self.users.insert(name.to_string(), user);
        Ok(token)
    }

    fn issue(
        &self,
        roots: Vec<PathBuf>,
        groups: Vec<String>,
        admin: bool,
    ) -> Result<(String, User)> {
        let token_id = loop {
            let id = random_hex(4)?;
            if !self.users.values().any(|u| u.token_id == id) {
                break id;
            }
        };
        let token = format!("scry_{token_id}_{}", random_hex(24)?);
        let user = User {
            token_hash: hash_token(&token)?,
            token_id,
            roots,
            groups,
            admin,
        };
        Ok((token, user))
    }

    pub fn user(&self, name: &str) -> Result<&User> {
        self.users.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no user named {name:?}; users: {}",
                if self.users.is_empty() {
                    "none yet (scry user add NAME --root DIR)".to_string()
                } else {
                    self.users.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))
        })
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut User> {
        self.user(name)?;
        Ok(self.users.get_mut(name).expect("checked"))
    }

    pub fn remove_user(&mut self, name: &str) -> Result<()> {
        self.user(name)?;
        self.users.remove(name);
        Ok(())
    }

    pub fn set_roots(&mut self, name: &str, roots: &[PathBuf]) -> Result<()> {
        self.user_mut(name)?.roots = roots.to_vec();
        Ok(())
    }

    pub fn set_admin(&mut self, name: &str, admin: bool) -> Result<()> {
        self.user_mut(name)?.admin = admin;
        Ok(())
    }

    /// Puts a user in exactly these groups (each must exist).
    pub fn set_groups(&mut self, name: &str, groups: &[String]) -> Result<()> {
        for g in groups {
            self.group(g)?;
        }
        self.user_mut(name)?.groups = groups.to_vec();
        Ok(())
    }

    /// Adds a group, or sets the roots of an existing one.
    pub fn put_group(&mut self, name: &str, roots: &[PathBuf]) -> Result<()> {
        check_name("group", name)?;
        self.groups.insert(
            name.to_string(),
            Group {
                roots: roots.to_vec(),
            },
        );
        Ok(())
    }

    pub fn group(&self, name: &str) -> Result<&Group> {
        self.groups.get(name).ok_or_else(|| {
            Error::NotFound(format!(
                "no group named {name:?} (scry group add {name} --root DIR)"
            ))
        })
    }

    /// Removes a group and takes its members out of it.
    pub fn remove_group(&mut self, name: &str) -> Result<()> {
        self.group(name)?;
        self.groups.remove(name);
        for u in self.users.values_mut() {
            u.groups.retain(|g| g != name);
        }
        Ok(())
    }

    /// The user whose token this is. Costs one Argon2 verification (about as
    /// long for an unknown id as for a wrong secret); callers cache successes.
    pub fn authenticate(&self, token: &str) -> Option<&str> {
        let id = token
            .strip_prefix("scry_")
            .and_then(|t| t.split_once('_'))
            .map(|(id, _)| id);
        let found = id.and_then(|id| self.users.iter().find(|(_, u)| u.token_id == id));
        let hash = found.map_or(decoy_hash(), |(_, u)| u.token_hash.as_str());
        let ok = PasswordHash::new(hash).ok().is_some_and(|h| {
            Argon2::default()
                .verify_password(token.as_bytes(), &h)
                .is_ok()
        });
        match found {
            Some((name, _)) if ok => Some(name.as_str()),
            _ => None,
        }
    }

    /// What user `name` sees, with the roots of `extra_groups` too (the groups a
    /// trusted proxy reports); `None` for an unknown user.
    pub fn visibility(&self, name: &str, extra_groups: &[String]) -> Option<Visibility> {
        let user = self.users.get(name)?;
        if user.admin {
            return Some(Visibility::All);
        }
        let mut roots = user.roots.clone();
        let groups = user.groups.iter().chain(extra_groups);
        roots.extend(
            groups
                .filter_map(|g| self.groups.get(g))
                .flat_map(|g| g.roots.iter().cloned()),
        );
        Some(Visibility::Within(dedup_roots(roots)))
    }

    /// What a person known only by their groups sees (a proxy user with no
    /// scry user of their own); `None` when none of the groups exists here.
    pub fn group_visibility(&self, groups: &[String]) -> Option<Visibility> {
        let known: Vec<&Group> = groups.iter().filter_map(|g| self.groups.get(g)).collect();
        if known.is_empty() {
            return None;
        }
        Some(Visibility::Within(dedup_roots(
            known.iter().flat_map(|g| g.roots.iter().cloned()).collect(),
        )))
    }
}

/// Sorted, without folders inside another of the list.
fn dedup_roots(mut roots: Vec<PathBuf>) -> Vec<PathBuf> {
    roots.sort();
    roots.dedup();
    let all = roots.clone();
    roots.retain(|r| !all.iter().any(|o| o != r && r.starts_with(o)));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_finds_its_user_and_nothing_else_does() {
        let mut a = Access::default();
        let ta = a.add_user("ann", &[PathBuf::from("/p/a")], false).unwrap();
        let tb = a.add_user("bob", &[PathBuf::from("/p/b")], true).unwrap();
        assert!(ta.starts_with("scry_") && ta.len() > 60);
        assert_eq!(a.authenticate(&ta), Some("ann"));
        assert_eq!(a.authenticate(&tb), Some("bob"));
        // Only the hash is kept.
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains(&ta[14..]), "{json}");
        assert!(json.contains("$argon2id$"));
        // A wrong secret with a right id, a made-up token, another's id.
        let mut wrong = ta.clone();
        wrong.pop();
        wrong.push(if ta.ends_with('0') { '1' } else { '0' });
        assert_eq!(a.authenticate(&wrong), None);
        assert_eq!(a.authenticate("scry_00000000_00"), None);
        assert_eq!(a.authenticate(""), None);
        let swapped = format!("{}{}", &tb[..14], &ta[14..]);
        assert_eq!(a.authenticate(&swapped), None);
        // A new token retires the old one.
        let ta2 = a.new_token("ann").unwrap();
        assert_eq!(a.authenticate(&ta), None);
        assert_eq!(a.authenticate(&ta2), Some("ann"));
        assert!(a.add_user("ann", &[], false).is_err());
        assert!(a.add_user("bad name", &[], false).is_err());
    }

    #[test]
    fn a_user_sees_their_roots_and_their_groups_and_an_admin_all() {
        let mut a = Access::default();
        a.add_user("ann", &[PathBuf::from("/p/a")], false).unwrap();
        a.add_user("root", &[], true).unwrap();
        a.put_group("hr", &[PathBuf::from("/p/hr")]).unwrap();
        a.put_group("all", &[PathBuf::from("/p")]).unwrap();
        assert!(a.set_groups("ann", &["nope".into()]).is_err());
        a.set_groups("ann", &["hr".into()]).unwrap();
        let v = a.visibility("ann", &[]).unwrap();
        assert!(v.sees(Path::new("/p/a/x.jpg")));
        assert!(v.sees(Path::new("/p/hr/y.jpg")));
        assert!(!v.sees(Path::new("/p/ab/x.jpg")), "whole components only");
        assert!(!v.sees(Path::new("/p/b/x.jpg")));
        assert_eq!(a.visibility("root", &[]), Some(Visibility::All));
        assert_eq!(a.visibility("nobody", &[]), None);
        // A proxy's groups add theirs; a group inside another is folded in.
        let v = a.visibility("ann", &["all".into()]).unwrap();
        assert_eq!(v, Visibility::Within(vec![PathBuf::from("/p")]));
        assert_eq!(a.group_visibility(&["zzz".into()]), None);
        assert_eq!(
            a.group_visibility(&["hr".into(), "zzz".into()]),
            Some(Visibility::Within(vec![PathBuf::from("/p/hr")]))
        );
        a.remove_group("hr").unwrap();
        assert!(a.users["ann"].groups.is_empty());
        assert!(!a
            .visibility("ann", &[])
            .unwrap()
            .sees(Path::new("/p/hr/y.jpg")));
        // Without roots, nothing.
        a.set_roots("ann", &[]).unwrap();
        assert!(!a
            .visibility("ann", &[])
            .unwrap()
            .sees(Path::new("/p/a/x.jpg")));
    }
}
