//! Keyword search over file names, folders, extensions, camera, dates, places and
//! the text in images: the only module that names tantivy.
//!
//! The index is derived from the catalog. Each commit records the catalog
//! generation it reflects (tantivy's commit payload); a library whose keyword index
//! lags behind after a crash re-creates it from the catalog on open (100k
//! documents take ~1.5 s).

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, Schema, Value, INDEXED, STORED, TEXT};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::store::{ImageId, ImageRecord};

const WRITER_HEAP: usize = 32 * 1024 * 1024;

/// The keyword index of a library.
pub struct KeywordIndex {
    dir: std::path::PathBuf,
    index: Index,
    writer: IndexWriter,
    reader: IndexReader,
    id: Field,
    text: Field,
}

fn corrupt(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::DataCorruption {
        path: dir.to_path_buf(),
        message: format!(
            "keyword index: {e}; delete this folder (it is re-created from the catalog) or run `scry index --rebuild`"
        ),
    }
}

/// Words a person may type to find this image: folder names, the file name split
/// into words, the extension, camera, year and month, the place, region and
/// country where it was taken, and the text read in it.
pub fn document_text(rec: &ImageRecord) -> String {
    let path = rec.path_buf();
    let mut words: Vec<String> = path
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .filter(|c| c != "/")
        .collect();
    if let Some(stem) = path.file_stem() {
        words.push(stem.to_string_lossy().into_owned());
    }
    words.push(rec.format.clone());
    if let Some(c) = &rec.camera {
        words.push(c.clone());
    }
    if let Some(t) = rec.taken {
        let (y, m, _) = crate::dates::civil_from_days(t.div_euclid(86_400));
        words.push(format!("{y} {y}-{m:02} {}", month_name(m)));
    }
    if let Some(p) = &rec.place {
        words.push(p.words());
    }
    if let Some(t) = &rec.text {
        words.push(t.clone());
    }
    words.join(" ")
}

/// The words of `text` as the keyword index sees them (tantivy's default
/// analyser: split on anything not alphanumeric, long tokens dropped,
/// lower-cased), in order, repeats kept. Another home that ranks keywords
/// itself (Qdrant) uses these, so both match the same images.
pub fn tokens(text: &str) -> Vec<String> {
    use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
    thread_local! {
        // Made once a thread: a filter over text (`text:"…"`) splits the text
        // of every image it looks at.
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(
            TokenizerManager::default()
                .get("default")
                .expect("tantivy has a default tokenizer"),
        );
    }
    ANALYZER.with(|a| {
        let mut analyzer = a.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    })
}

fn month_name(m: u32) -> &'static str {
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ][(m.clamp(1, 12) - 1) as usize]
}

impl KeywordIndex {
    /// Opens or creates the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut builder = Schema::builder();
        let id = builder.add_u64_field("id", INDEXED | STORED);
        let text = builder.add_text_field("text", TEXT);
        let schema = builder.build();
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| corrupt(dir, e))?;
        let index = Index::open_or_create(mmap, schema).map_err(|e| corrupt(dir, e))?;
        let writer = index.writer(WRITER_HEAP).map_err(|e| corrupt(dir, e))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| corrupt(dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            writer,
            reader,
            id,
            text,
        })
    }

    /// The catalog generation of the last commit (0 for a new index).
    pub fn generation(&self) -> Result<u64> {
        let metas = self.index.load_metas().map_err(|e| corrupt(&self.dir, e))?;
        Ok(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
    }

    /// Number of documents visible to searches.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds (or replaces) an image's document; visible after [`KeywordIndex::commit`].
    pub fn upsert(&mut self, id: ImageId, rec: &ImageRecord) -> Result<()> {
        self.remove(id);
        self.writer
            .add_document(doc!(self.id => id, self.text => document_text(rec)))
            .map_err(|e| corrupt(&self.dir, e))?;
        Ok(())
    }

    pub fn remove(&mut self, id: ImageId) {
        self.writer.delete_term(Term::from_field_u64(self.id, id));
    }

    /// Drops every document (before re-creating the index from the catalog).
    pub fn clear(&mut self) -> Result<()> {
        self.writer
            .delete_all_documents()
            .map_err(|e| corrupt(&self.dir, e))?;
        Ok(())
    }

    /// Makes the changes durable and visible, recording the catalog generation.
    pub fn commit(&mut self, generation: u64) -> Result<()> {
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(|e| corrupt(&self.dir, e))?;
        prepared.set_payload(&generation.to_string());
        prepared.commit().map_err(|e| corrupt(&self.dir, e))?;
        self.reader.reload().map_err(|e| corrupt(&self.dir, e))?;
        Ok(())
    }

    /// Images whose words match `query` (tantivy's query syntax, lenient), best
    /// first, with their BM25 scores.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<(ImageId, f32)>> {
        if query.trim().is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let mut parser = QueryParser::for_index(&self.index, vec![self.text]);
        // Every word must match: a long natural-language query then matches no file
        // name and stays purely semantic.
        parser.set_conjunction_by_default();
        let (q, _errors) = parser.parse_query_lenient(query);
        let top = searcher
            .search(&q, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| corrupt(&self.dir, e))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| corrupt(&self.dir, e))?;
            if let Some(id) = d.get_first(self.id).and_then(|v| v.as_u64()) {
                out.push((id, score));
            }
        }
        Ok(out)
    }
}
