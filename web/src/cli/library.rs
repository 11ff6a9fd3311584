//! Where the library lives, and the settings kept beside it so that
//! `scry index --rebuild` can re-create a damaged library from its roots.

use std::path::{Path, PathBuf};

use anyhow::Context;
use scry::home::qdrant::QdrantLibrary;
use scry::home::Location;
use serde::{Deserialize, Serialize};

/// `--db`, shared by the commands that open a library.
#[derive(Debug, Clone, clap::Args)]
pub struct LibraryArgs {
    /// Library folder, or a Qdrant collection as qdrant://HOST:PORT/NAME (gRPC port;
    /// qdrants:// for TLS; API key from SCRY_QDRANT_API_KEY)
    /// [default: $XDG_DATA_HOME/scry/library, i.e. ~/.local/share/scry/library].
    #[arg(long, env = "SCRY_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
}

impl LibraryArgs {
    pub fn location(&self) -> anyhow::Result<Location> {
        if let Some(d) = &self.db {
            return Ok(Location::parse(d)?);
        }
        let base = dirs::data_dir().context(
            "no per-user data folder (HOME is not set): pass --db PATH to choose where the library lives",
        )?;
        Ok(Location::Folder(base.join("scry").join("library")))
    }
}

/// Settings that survive a rebuild: the roots, the model and the smart albums'
/// definitions (their vectors are made again with the rebuilt library's model).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub roots: Vec<PathBuf>,
    pub model: Option<String>,
    #[serde(default)]
    pub albums: Vec<AlbumDef>,
    /// The OCR languages (`scry index --ocr`), so a rebuild keeps reading text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<String>,
}

/// An album as a person defined it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumDef {
    pub name: String,
    pub prompts: Vec<String>,
    pub example: Option<String>,
    pub threshold: f32,
    /// The user whose album it is (none: shared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Photos marked as belonging or not (their vectors are found again by
    /// content hash after a rebuild).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<scry::albums::Mark>,
}

/// The library's image at `path` (a file named on the command line): its
/// canonical path and id. Errors name the file after `label` (e.g. `--image `).
pub fn image_at(
    lib: &scry::Library,
    path: &Path,
    label: &str,
) -> anyhow::Result<(PathBuf, scry::ImageId)> {
    let full = std::fs::canonicalize(path)
        .with_context(|| format!("{label}{}: file not found", path.display()))?;
    let id = lib.id_for_path(&full)?.with_context(|| {
        format!(
            "{label}{}: not in the library (index its folder first with scry index)",
            path.display()
        )
    })?;
    Ok((full, id))
}

/// Copies the library's album definitions into its settings file, so that
/// `scry index --rebuild` can re-create them even from a damaged catalog.
pub fn remember_albums(lib: &scry::Library) -> anyhow::Result<()> {
    // A Qdrant library keeps its albums itself (carried over by a rebuild).
    let Some(dir) = lib.dir().filter(|_| !lib.is_snapshot()) else {
        return Ok(());
    };
    let mut settings = Settings::load(dir);
    settings.albums = lib.albums()?.into_iter().map(AlbumDef::from).collect();
    settings.save(dir)
}

/// After a rebuild: the remembered albums, encoded with the new model. An album
/// that cannot be made again is reported and skipped.
pub fn restore_albums(
    lib: &mut scry::Library,
    model: &scry::ClipModel,
    defs: &[AlbumDef],
) -> anyhow::Result<usize> {
    let mut restored = 0;
    for d in defs {
        let album = scry::albums::Album {
            name: d.name.clone(),
            prompts: d.prompts.clone(),
            example: d.example.clone(),
            threshold: d.threshold,
            vector: Vec::new(),
            owner: d.owner.clone(),
            marks: d.marks.clone(),
            prior: None,
        };
        let made = scry::albums::reencode(model, &album)
            .and_then(|a| scry::albums::refit(lib, a))
            .and_then(|a| lib.put_album(a));
        match made {
            Ok(()) => restored += 1,
            Err(e) => eprintln!(
                "warning: album {} not restored ({e}); its definition stays in settings.json",
                d.name
            ),
        }
    }
    // settings.json keeps every definition, restored or not.
    Ok(restored)
}

impl From<scry::albums::Album> for AlbumDef {
    fn from(a: scry::albums::Album) -> Self {
        AlbumDef {
            threshold: a.prior().threshold,
            name: a.name,
            prompts: a.prompts,
            example: a.example,
            owner: a.owner,
            // The vectors belong to the catalog, not to the definition.
            marks: a
                .marks
                .into_iter()
                .map(|m| scry::albums::Mark {
                    vector: Vec::new(),
                    ..m
                })
                .collect(),
        }
    }
}

const SETTINGS: &str = "settings.json";

impl Settings {
    /// Adds folders to the roots (canonical, deduplicated) and returns them
    /// canonicalised; a missing path or a file is an error naming it.
    pub fn add_dirs(&mut self, dirs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
        let mut added = Vec::with_capacity(dirs.len());
        for d in dirs {
            let c = std::fs::canonicalize(d)
                .with_context(|| format!("{}: folder not found", d.display()))?;
            if !c.is_dir() {
                anyhow::bail!("{}: not a folder", d.display());
            }
            // A folder inside a root is covered already; a root inside it is
            // replaced by it.
            if !self.roots.iter().any(|r| c.starts_with(r)) {
                self.roots.retain(|r| !r.starts_with(&c));
                self.roots.push(c.clone());
            }
            added.push(c);
        }
        Ok(added)
    }

    /// The settings of the library at `loc`: settings.json beside a local
    /// library; a Qdrant library holds its roots, model and albums itself.
    pub fn load_at(loc: &Location) -> anyhow::Result<Settings> {
        match loc {
            Location::Folder(dir) => Ok(Settings::load(dir)),
            Location::Qdrant(url) => {
                let lib = scry::Library::from(QdrantLibrary::connect(url)?);
                Ok(Settings {
                    roots: lib.roots()?,
                    model: lib.model()?,
                    albums: lib.albums()?.into_iter().map(AlbumDef::from).collect(),
                    ocr: lib.ocr()?,
                })
            }
        }
    }

    /// Saves what [`Settings::load_at`] read (a Qdrant library needs nothing:
    /// the indexing run records its roots and model).
    pub fn save_at(&self, loc: &Location) -> anyhow::Result<()> {
        match loc {
            Location::Folder(dir) => self.save(dir),
            Location::Qdrant(_) => Ok(()),
        }
    }

    pub fn load(dir: &Path) -> Settings {
        std::fs::read(dir.join(SETTINGS))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Written to a temporary file and renamed: never half-written.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        let tmp = dir.join(format!("{SETTINGS}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| tmp.display().to_string())?;
        std::fs::rename(&tmp, dir.join(SETTINGS)).with_context(|| dir.display().to_string())?;
        Ok(())
    }
}

fn must_exist(dir: &Path) -> anyhow::Result<()> {
    if !dir.join("catalog").exists() {
        anyhow::bail!(
            "no library at {}: create one with `scry index FOLDER`",
            dir.display()
        );
    }
    Ok(())
}

/// Opens a library that must already exist (for commands that only read).
pub fn open_existing(loc: &Location) -> anyhow::Result<scry::Library> {
    open_existing_with(loc, scry::Library::open)
}

/// Opens a library that must already exist, to change it.
pub fn open_existing_to_write(loc: &Location) -> anyhow::Result<scry::Library> {
    match loc {
        Location::Folder(dir) => {
            must_exist(dir)?;
            open(loc)
        }
        Location::Qdrant(url) => Ok(QdrantLibrary::connect_existing(url)?.into()),
    }
}

/// Whether an open failed because the library's folder cannot be written.
fn cannot_write(e: &scry::Error) -> bool {
    matches!(e, scry::Error::Io { source, .. } if matches!(
        source.kind(),
        std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::ReadOnlyFilesystem
            | std::io::ErrorKind::PermissionDenied
    ))
}

/// Opens the library for commands that only read it. A local library on a
/// read-only mount or a full disk stays searchable: a copy in the temporary
/// folder is opened instead (sled cannot open a catalog read-only), with a warning.
pub fn open_for_reading(loc: &Location) -> anyhow::Result<scry::Library> {
    open_for_reading_with(loc, scry::Library::open)
}

/// Opens a library that must already exist for a few searches (`scry search`): a
/// local one without reading its ANN graph (the searches scan exactly, which for
/// a few queries is cheaper than reading the graph).
pub fn open_to_search(loc: &Location) -> anyhow::Result<scry::Library> {
    open_existing_with(loc, scry::Library::open_without_graph)
}

/// An existing library, a local one opened by `opener` (or its temporary copy).
fn open_existing_with(
    loc: &Location,
    opener: fn(&std::path::Path) -> scry::Result<scry::Library>,
) -> anyhow::Result<scry::Library> {
    match loc {
        Location::Folder(dir) => {
            must_exist(dir)?;
            open_for_reading_with(loc, opener)
        }
        Location::Qdrant(url) => Ok(QdrantLibrary::connect_existing(url)?.into()),
    }
}

fn open_for_reading_with(
    loc: &Location,
    opener: fn(&std::path::Path) -> scry::Result<scry::Library>,
) -> anyhow::Result<scry::Library> {
    let Location::Folder(dir) = loc else {
        return open(loc);
    };
    match opener(dir) {
        Err(e) if cannot_write(&e) => match scry::Library::open_snapshot(dir) {
            Ok(lib) => {
                tracing::warn!(
                    "the library at {} cannot be written ({e}); searching a temporary copy",
                    dir.display()
                );
                Ok(lib)
            }
            Err(copy) => Err(explain(dir, e))
                .with_context(|| format!("a temporary copy could not be opened either: {copy}")),
        },
        other => other.map_err(|e| explain(dir, e)),
    }
}

/// Opens (or creates) the library, adding the recovery hint to damage errors.
pub fn open(loc: &Location) -> anyhow::Result<scry::Library> {
    match loc {
        Location::Folder(dir) => scry::Library::open(dir).map_err(|e| explain(dir, e)),
        Location::Qdrant(url) => Ok(scry::Library::connect(url)?),
    }
}

fn explain(dir: &Path, e: scry::Error) -> anyhow::Error {
    let hint = match &e {
        scry::Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::StorageFull => {
                "; the disk is full: free some space and run the command again \
                     (what was indexed before is kept)"
            }
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                "; the library folder must be writable (its catalog cannot be opened \
                     read-only): remount it read-write or copy it elsewhere with --db"
            }
            _ => "",
        },
        _ => "",
    };
    anyhow::anyhow!("cannot open the library at {}: {e}{hint}", dir.display())
}
