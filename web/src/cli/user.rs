//! `scry user` and `scry group`: who may use `scry serve`, and which folders
//! each sees. A local library keeps them in `access.json` beside its catalog
//! (read and written without opening the catalog, so they can be changed while
//! the server runs; it reads them again within a second); a Qdrant library in
//! its settings point.

use std::path::PathBuf;

use anyhow::Context;
use scry::access::Access;
use scry::home::Location;
use serde_json::json;

use super::library::{self, LibraryArgs};

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user and print their API token (shown once: only a hash is kept).
    Add(UserAddArgs),
    /// List the users with their folders and groups.
    List(ListArgs),
    /// Remove a user (their token stops working at once).
    Remove(NameArgs),
    /// Set the folders a user sees (replacing the ones they had).
    Roots(RootsArgs),
    /// Set the groups a user is in (none: leave --group out).
    Groups(GroupsArgs),
    /// Give a user a new token (the old one stops working).
    Token(NameArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Add a group with its folders, or set the folders of an existing one.
    Add(RootsArgs),
    /// List the groups with their folders and members.
    List(ListArgs),
    /// Remove a group (its members leave it).
    Remove(NameArgs),
}

#[derive(Debug, clap::Args)]
pub struct UserAddArgs {
    /// Letters, digits, '.', '_', '@' or '-' (an SSO proxy's user name fits).
    name: String,
    /// A folder whose images the user sees (repeatable).
    #[arg(long = "root", value_name = "DIR")]
    roots: Vec<PathBuf>,
    /// A group the user is in (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// Sees every image and may start a rescan.
    #[arg(long)]
    admin: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct NameArgs {
    name: String,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct RootsArgs {
    name: String,
    /// A folder whose images they see (repeatable).
    #[arg(long = "root", value_name = "DIR", required = true)]
    roots: Vec<PathBuf>,
    #[command(flatten)]
    library: LibraryArgs,
}

#[derive(Debug, clap::Args)]
pub struct GroupsArgs {
    name: String,
    /// A group (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    #[command(flatten)]
    library: LibraryArgs,
}

/// Reads the users and groups, lets `f` change them, writes them back.
fn change<T>(
    args: &LibraryArgs,
    f: impl FnOnce(&mut Access, &[PathBuf]) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let loc = args.location()?;
    match &loc {
        Location::Folder(dir) => {
            let mut access = scry::home::local::read_access(dir)?;
            let roots = library::Settings::load(dir).roots;
            let out = f(&mut access, &roots)?;
            scry::home::local::write_access(dir, &access)?;
            Ok(out)
        }
        Location::Qdrant(_) => {
            let mut lib = library::open_existing_to_write(&loc)?;
            let mut access = lib.access()?;
            let roots = lib.roots()?;
            let out = f(&mut access, &roots)?;
            lib.set_access(&access)?;
            Ok(out)
        }
    }
}

fn read(args: &LibraryArgs) -> anyhow::Result<Access> {
    let loc = args.location()?;
    Ok(match &loc {
        Location::Folder(dir) => scry::home::local::read_access(dir)?,
        Location::Qdrant(_) => library::open_existing(&loc)?.access()?,
    })
}

/// Folders made absolute and canonical; each must exist. A folder outside the
/// library's roots is allowed (it may be added later) but said.
fn folders(dirs: &[PathBuf], library_roots: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for d in dirs {
        let c = std::fs::canonicalize(d)
            .with_context(|| format!("--root {}: folder not found", d.display()))?;
        if !c.is_dir() {
            anyhow::bail!("--root {}: not a folder", d.display());
        }
        if !library_roots.is_empty() && !library_roots.iter().any(|r| c.starts_with(r)) {
            eprintln!(
                "note: {} is not under the library's folders; its images appear once it is \
                 indexed (scry index {})",
                c.display(),
                c.display()
            );
        }
        out.push(c);
    }
    Ok(out)
}

pub fn run_user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add(a) => {
            let token = change(&a.library, |acc, lib_roots| {
                let roots = folders(&a.roots, lib_roots)?;
                let token = acc.add_user(&a.name, &roots, a.admin)?;
                acc.set_groups(&a.name, &a.groups)?;
                Ok(token)
            })?;
            if a.roots.is_empty() && a.groups.is_empty() && !a.admin {
                eprintln!(
                    "note: {} sees no images until given folders (scry user roots) or groups \
                     (scry user groups)",
                    a.name
                );
            }
            eprintln!(
                "user {} added; their token follows (shown once: keep it secret; \
                 `scry user token {}` replaces it)",
                a.name, a.name
            );
            println!("{token}");
        }
        UserCommand::List(a) => {
            let acc = read(&a.library)?;
            if a.json {
                let users: Vec<_> = acc
                    .users
                    .iter()
                    .map(|(n, u)| json!({"name": n, "admin": u.admin, "roots": u.roots, "groups": u.groups}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else if acc.users.is_empty() {
                println!("no users: `scry serve` on loopback needs none; add one with scry user add NAME --root DIR");
            } else {
                for (n, u) in &acc.users {
                    let roots: Vec<String> =
                        u.roots.iter().map(|r| r.display().to_string()).collect();
                    println!(
                        "{n}{}: {}{}",
                        if u.admin { " (admin: everything)" } else { "" },
                        if roots.is_empty() {
                            "no folders".to_string()
                        } else {
                            roots.join(", ")
                        },
                        if u.groups.is_empty() {
                            String::new()
                        } else {
                            format!("; groups: {}", u.groups.join(", "))
                        }
                    );
                }
            }
        }
        UserCommand::Remove(a) => {
            change(&a.library, |acc, _| Ok(acc.remove_user(&a.name)?))?;
            println!("user {} removed", a.name);
        }
        UserCommand::Roots(a) => {
            change(&a.library, |acc, lib_roots| {
                let roots = folders(&a.roots, lib_roots)?;
                Ok(acc.set_roots(&a.name, &roots)?)
            })?;
            println!("user {} now sees {} folder(s)", a.name, a.roots.len());
        }
        UserCommand::Groups(a) => {
            change(&a.library, |acc, _| Ok(acc.set_groups(&a.name, &a.groups)?))?;
            println!("user {} is in {} group(s)", a.name, a.groups.len());
        }
        UserCommand::Token(a) => {
            let token = change(&a.library, |acc, _| Ok(acc.new_token(&a.name)?))?;
            eprintln!("new token for {} (the old one no longer works):", a.name);
            println!("{token}");
        }
    }
    Ok(())
}

pub fn run_group(cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::Add(a) => {
            change(&a.library, |acc, lib_roots| {
                let roots = folders(&a.roots, lib_roots)?;
                Ok(acc.put_group(&a.name, &roots)?)
            })?;
            println!("group {} sees {} folder(s)", a.name, a.roots.len());
        }
        GroupCommand::List(a) => {
            let acc = read(&a.library)?;
            let members = |g: &str| -> Vec<String> {
                acc.users
                    .iter()
                    .filter(|(_, u)| u.groups.iter().any(|x| x == g))
                    .map(|(n, _)| n.clone())
                    .collect()
            };
            if a.json {
                let groups: Vec<_> = acc
                    .groups
                    .iter()
                    .map(|(n, g)| json!({"name": n, "roots": g.roots, "members": members(n)}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&groups)?);
            } else if acc.groups.is_empty() {
                println!("no groups: add one with scry group add NAME --root DIR");
            } else {
                for (n, g) in &acc.groups {
                    let roots: Vec<String> =
                        g.roots.iter().map(|r| r.display().to_string()).collect();
                    println!(
                        "{n}: {}; members: {}",
                        roots.join(", "),
                        members(n).join(", ")
                    );
                }
            }
        }
        GroupCommand::Remove(a) => {
            change(&a.library, |acc, _| Ok(acc.remove_group(&a.name)?))?;
            println!("group {} removed", a.name);
        }
    }
    Ok(())
}
