//! `scry export`: every image's path, id, metadata and embedding, streamed, for
//! people who want the vectors in numpy, pandas or another tool.
//!
//! - `--format jsonl`: one JSON object per image, embedding included, to a file or
//!   standard output.
//! - `--format npy`: the embeddings as one float32 array (`N × dim`, C order) in
//!   `OUT.npy`, and a JSONL sidecar `OUT.jsonl` whose line `i` describes row `i`.
//!
//! Files are written beside their final name and renamed when complete: an
//! interrupted export leaves no half file under that name.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use npyz::WriterBuilder;
use serde_json::json;

use super::library::{self, LibraryArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line, with the embedding.
    Jsonl,
    /// A float32 .npy array plus a .jsonl sidecar of the rows' metadata.
    Npy,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    library: LibraryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Where to write: a file for jsonl (standard output when absent); for npy,
    /// OUT.npy and OUT.jsonl (a trailing .npy is dropped from OUT).
    #[arg(long, short, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// The metadata of one image, as both formats write it.
fn describe(it: &scry::home::Item<'_>, model: &str) -> serde_json::Value {
    let rec = it.record;
    let path = rec.path_buf();
    json!({
        "id": it.id,
        "path": path.to_string_lossy(),
        "name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "folder": path.parent().map(|p| p.to_string_lossy().into_owned()),
        "size": rec.size,
        "mtime_ns": rec.mtime_ns,
        "hash": rec.hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "width": rec.width,
        "height": rec.height,
        "format": rec.format,
        "date": scry::dates::format_datetime(rec.date()),
        "camera": rec.camera,
        "model": model,
    })
}

/// A file written under a temporary name and renamed into place by `commit`.
struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
}

impl Staged {
    fn create(dest: &Path) -> anyhow::Result<(Self, std::io::BufWriter<std::fs::File>)> {
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let tmp = dest.with_file_name(name);
        let f = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
        Ok((
            Staged {
                tmp,
                dest: dest.to_path_buf(),
            },
            std::io::BufWriter::new(f),
        ))
    }

    fn commit(self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest).with_context(|| format!("{}", self.dest.display()))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let loc = args.library.location()?;
    let lib = library::open_existing(&loc)?;
    let model = lib.model()?.unwrap_or_default();
    match args.format {
        Format::Jsonl => {
            let write = |w: &mut dyn Write| -> anyhow::Result<usize> {
                let mut n = 0;
                let mut failed = None;
                lib.for_each(true, |it| {
                    if failed.is_some() {
                        return;
                    }
                    let mut v = describe(&it, &model);
                    v["embedding"] = crate::views::f32s_json(it.vector.unwrap_or_default());
                    if let Err(e) = serde_json::to_writer(&mut *w, &v)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| Ok(w.write_all(b"\n")?))
                    {
                        failed = Some(e);
                    }
                    n += 1;
                })?;
                match failed {
                    Some(e) => Err(e),
                    None => Ok(n),
                }
            };
            match &args.out {
                Some(path) => {
                    let (staged, mut w) = Staged::create(path)?;
                    let n = write(&mut w)?;
                    w.flush()?;
                    drop(w);
                    staged.commit()?;
                    eprintln!("exported {n} images to {}", path.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = std::io::BufWriter::new(stdout.lock());
                    write(&mut lock)?;
                    lock.flush()?;
                }
            }
        }
        Format::Npy => {
            let Some(out) = &args.out else {
                anyhow::bail!(
                    "--format npy writes two files: pass --out PATH (PATH.npy and PATH.jsonl)"
                );
            };
            let base = if out.extension().is_some_and(|e| e == "npy") {
                out.with_extension("")
            } else {
                out.clone()
            };
            let npy_path = base.with_extension("npy");
            let jsonl_path = base.with_extension("jsonl");
            let rows = lib.len()? as u64;
            let dim = lib.dim() as u64;
            let (npy_staged, npy_file) = Staged::create(&npy_path)?;
            let (jsonl_staged, mut jsonl) = Staged::create(&jsonl_path)?;
            let mut npy = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[rows, dim])
                .writer(npy_file)
                .begin_nd()?;
            let mut n = 0u64;
            let mut failed: Option<anyhow::Error> = None;
            lib.for_each(true, |it| {
                if failed.is_some() {
                    return;
                }
                let mut step = || -> anyhow::Result<()> {
                    let v = it.vector.unwrap_or_default();
                    anyhow::ensure!(
                        v.len() as u64 == dim,
                        "image {} has a {}-d vector, the library {dim}",
                        it.id,
                        v.len()
                    );
                    anyhow::ensure!(n < rows, "the library grew during the export: run it again");
                    npy.extend(v.iter().copied())?;
                    let mut meta = describe(&it, &model);
                    meta["row"] = json!(n);
                    serde_json::to_writer(&mut jsonl, &meta)?;
                    jsonl.write_all(b"\n")?;
                    Ok(())
                };
                if let Err(e) = step() {
                    failed = Some(e);
                }
                n += 1;
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            anyhow::ensure!(
                n == rows,
                "the library changed during the export ({n} images read, {rows} expected): run it again"
            );
            npy.finish()?;
            jsonl.flush()?;
            drop(jsonl);
            npy_staged.commit()?;
            jsonl_staged.commit()?;
            eprintln!(
                "exported {n} images: {} ({n} × {dim} float32) and {}",
                npy_path.display(),
                jsonl_path.display()
            );
        }
    }
    Ok(())
}
