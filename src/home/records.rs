//! Every image's record as the catalog encodes it, one after another in one
//! buffer: what a local library keeps in memory for filters and result pages.
//!
//! Decoded records cost ~1.5 KB each in a hash map (strings and their heap
//! blocks, the map's slack): 1.7 GB at a million images, most of a server's
//! memory. Kept encoded they cost their bytes plus 20 (id, offset, length),
//! and a filter reads the fields it tests in place ([`RecordRef`]: borrowed
//! path and strings, nothing allocated). Ids are kept sorted; a lookup guesses
//! the row from the id (ids are handed out in order, so most libraries are
//! dense) and falls back to a binary search.
//!
//! The table is also written whole at a checkpoint, like the vector file
//! (`ann/records-<generation>.table`: temporary name, sync, rename, then
//! recorded in the catalog with its generation), and an unchanged library
//! maps it instead of reading a million records out of sled (most of opening
//! one): it is read in place until the first change, which copies it.
//!
//! Layout, little-endian, each section at a multiple of 64 bytes: a 64-byte
//! header (`SCRYREC1`, then generation, rows and bytes, u64 each), the ids
//! (u64, increasing), each row's first byte (u64) and length (u32), the bytes.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::vector_file::VectorFileMeta;
use crate::ann::Slab;
use crate::store::{decode_record, ImageId, ImageRecord, RecordRef};

const MAGIC: &[u8; 8] = b"SCRYREC1";
const HEADER: usize = 64;
const ALIGN: usize = 64;

/// The name of the file holding generation `generation`.
pub(super) fn file_name(generation: u64) -> String {
    format!("records-{generation}.table")
}

/// Whether `name` is one of these files (for removing those no one records).
pub(super) fn is_record_file(name: &str) -> bool {
    name.starts_with("records-") && (name.ends_with(".table") || name.ends_with(".table.tmp"))
}

/// Where each section starts, and the end, for `rows` rows of `bytes` bytes.
fn layout(rows: usize, bytes: usize) -> Option<[usize; 5]> {
    let mut at = HEADER;
    let mut section = |size: usize| -> Option<usize> {
        let start = at.checked_next_multiple_of(ALIGN)?;
        at = start.checked_add(size)?;
        Some(start)
    };
    let ids = section(rows.checked_mul(8)?)?;
    let starts = section(rows.checked_mul(8)?)?;
    let lens = section(rows.checked_mul(4)?)?;
    let data = section(bytes)?;
    Some([ids, starts, lens, data, at])
}

/// The records of a library, encoded, sorted by id.
#[derive(Debug, Default)]
pub(crate) struct RecordTable {
    ids: Slab<ImageId>,
    /// Each row's first byte in `bytes`.
    starts: Slab<u64>,
    /// Each row's length in bytes.
    lens: Slab<u32>,
    bytes: Slab<u8>,
    /// Bytes of `bytes` no row points at any more (changed or removed
    /// records), reclaimed when they outweigh the rest.
    garbage: usize,
}

/// A record's bytes in the layout [`RecordRef`] reads: the catalog's own where
/// it is that layout, else the record decoded and encoded again.
fn readable(bytes: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if RecordRef::read(bytes).is_some() {
        return Some(bytes.into());
    }
    let rec = decode_record(bytes).ok()?;
    Some(encode(&rec).into())
}

fn encode(rec: &ImageRecord) -> Vec<u8> {
    postcard::to_allocvec(rec).expect("record serialises")
}

impl RecordTable {
    /// A table of the catalog's encoded records, given in increasing id order.
    /// `Err(id)` for a record that cannot be read.
    pub(crate) fn from_encoded<B: AsRef<[u8]>>(
        rows: impl IntoIterator<Item = (ImageId, B)>,
    ) -> std::result::Result<Self, ImageId> {
        let mut table = Self::default();
        let (ids, starts, lens, bytes) = (
            table.ids.to_mut(),
            table.starts.to_mut(),
            table.lens.to_mut(),
            table.bytes.to_mut(),
        );
        for (id, raw) in rows {
            let b = readable(raw.as_ref()).ok_or(id)?;
            debug_assert!(ids.last().is_none_or(|&last| last < id));
            ids.push(id);
            starts.push(bytes.len() as u64);
            lens.push(u32::try_from(b.len()).map_err(|_| id)?);
            bytes.extend_from_slice(&b);
        }
        Ok(table)
    }

    /// Joins tables of ids that follow one another (`self`'s all below `next`'s).
    pub(crate) fn append(&mut self, next: RecordTable) {
        let base = self.bytes.len() as u64;
        self.ids.to_mut().extend_from_slice(&next.ids);
        self.starts
            .to_mut()
            .extend(next.starts.iter().map(|s| s + base));
        self.lens.to_mut().extend_from_slice(&next.lens);
        self.bytes.to_mut().extend_from_slice(&next.bytes);
        self.garbage += next.garbage;
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The ids, increasing.
    pub(crate) fn ids(&self) -> &[ImageId] {
        &self.ids
    }

    fn row(&self, id: ImageId) -> Option<usize> {
        let ids: &[ImageId] = &self.ids;
        let first = *ids.first()?;
        // Dense ids: the row is the id's distance from the first.
        let guess = usize::try_from(id.checked_sub(first)?).ok()?;
        if ids.get(guess) == Some(&id) {
            return Some(guess);
        }
        ids.binary_search(&id).ok()
    }

    fn bytes_of(&self, row: usize) -> &[u8] {
        let start = self.starts[row] as usize;
        &self.bytes[start..start + self.lens[row] as usize]
    }

    /// An image's record, read in place.
    pub(crate) fn get(&self, id: ImageId) -> Option<RecordRef<'_>> {
        self.row(id).and_then(|r| RecordRef::read(self.bytes_of(r)))
    }

    /// An image's whole record, decoded.
    pub(crate) fn record(&self, id: ImageId) -> Option<ImageRecord> {
        self.row(id)
            .and_then(|r| decode_record(self.bytes_of(r)).ok())
    }

    /// The ids of the records `pass` accepts, in id order, read on every core
    /// (at a million images one pass is ~0.1 s on one).
    pub(crate) fn ids_where(
        &self,
        pass: &(dyn Fn(ImageId, &RecordRef<'_>) -> bool + Sync),
    ) -> Vec<ImageId> {
        use rayon::prelude::*;
        const CHUNK: usize = 16_384;
        (0..self.len().div_ceil(CHUNK))
            .into_par_iter()
            .flat_map_iter(|c| {
                let rows = c * CHUNK..((c + 1) * CHUNK).min(self.len());
                rows.filter_map(|r| {
                    let rec = RecordRef::read(self.bytes_of(r))?;
                    pass(self.ids[r], &rec).then_some(self.ids[r])
                })
                .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Every record decoded, in id order.
    pub(crate) fn records(&self) -> impl Iterator<Item = (ImageId, ImageRecord)> + '_ {
        (0..self.len()).filter_map(|r| Some((self.ids[r], decode_record(self.bytes_of(r)).ok()?)))
    }

    /// About `n` records spread evenly over the table (for estimating what
    /// share of the images a filter accepts: the first rows are the first
    /// folders indexed).
    pub(crate) fn sample(&self, n: usize) -> impl Iterator<Item = (ImageId, RecordRef<'_>)> + '_ {
        let step = self.len().div_ceil(n.max(1)).max(1);
        (0..self.len())
            .step_by(step)
            .filter_map(|r| Some((self.ids[r], RecordRef::read(self.bytes_of(r))?)))
    }

    /// Removes `removed` and writes `upserts` (new images, or new records of
    /// existing ones), in one pass over the table.
    pub(crate) fn apply<'r>(
        &mut self,
        removed: &[ImageId],
        upserts: impl IntoIterator<Item = (ImageId, &'r ImageRecord)>,
    ) {
        let mut gone: HashSet<ImageId> = removed.iter().copied().collect();
        let mut appended: Vec<(ImageId, u64, u32)> = Vec::new();
        for (id, rec) in upserts {
            let b = encode(rec);
            let start = self.bytes.len() as u64;
            let len = u32::try_from(b.len()).expect("a record under 4 GB");
            self.bytes.to_mut().extend_from_slice(&b);
            match self.row(id) {
                Some(r) => {
                    // Written after it was removed: kept, with this record.
                    gone.remove(&id);
                    self.garbage += self.lens[r] as usize;
                    self.starts.to_mut()[r] = start;
                    self.lens.to_mut()[r] = len;
                }
                None => appended.push((id, start, len)),
            }
        }
        // An id written twice keeps its last record.
        appended.reverse();
        appended.sort_by_key(|a| a.0);
        appended.dedup_by_key(|a| a.0);
        if !gone.is_empty() {
            let (ids, starts, lens) = (self.ids.to_mut(), self.starts.to_mut(), self.lens.to_mut());
            let mut w = 0;
            for r in 0..ids.len() {
                if gone.contains(&ids[r]) {
                    self.garbage += lens[r] as usize;
                    continue;
                }
                ids[w] = ids[r];
                starts[w] = starts[r];
                lens[w] = lens[r];
                w += 1;
            }
            ids.truncate(w);
            starts.truncate(w);
            lens.truncate(w);
        }
        if !appended.is_empty() {
            let in_order = self
                .ids
                .last()
                .is_none_or(|&last| appended.first().is_some_and(|a| a.0 > last));
            let (ids, starts, lens) = (self.ids.to_mut(), self.starts.to_mut(), self.lens.to_mut());
            if in_order {
                for (id, s, l) in appended {
                    ids.push(id);
                    starts.push(s);
                    lens.push(l);
                }
            } else {
                // Ids handed out out of order (not by this catalog): sort again.
                let mut rows: Vec<(ImageId, u64, u32)> = (0..ids.len())
                    .map(|r| (ids[r], starts[r], lens[r]))
                    .chain(appended)
                    .collect();
                rows.sort_unstable_by_key(|r| r.0);
                ids.clear();
                starts.clear();
                lens.clear();
                for (id, s, l) in rows {
                    ids.push(id);
                    starts.push(s);
                    lens.push(l);
                }
            }
        }
        if self.garbage > 1 << 20 && self.garbage > self.bytes.len() / 2 {
            self.compact();
        }
    }

    /// Writes the table as generation `generation` into `dir` (temporary name,
    /// sync, rename) and returns the name to record; durable when it returns.
    pub(super) fn write(&self, dir: &Path, generation: u64) -> std::io::Result<String> {
        let name = file_name(generation);
        let rows = self.len();
        let total: usize = self.lens.iter().map(|&l| l as usize).sum();
        let [ids_at, starts_at, lens_at, data_at, end] =
            layout(rows, total).ok_or_else(|| std::io::Error::other("record table too large"))?;
        crate::ann::write_durably(dir, &name, |out| {
            let mut written = 0usize;
            let mut put = |out: &mut BufWriter<File>, at: usize, b: &[u8]| {
                if at > written {
                    out.write_all(&vec![0u8; at - written])?;
                    written = at;
                }
                out.write_all(b)?;
                written += b.len();
                std::io::Result::Ok(())
            };
            let mut header = Vec::with_capacity(HEADER);
            header.extend_from_slice(MAGIC);
            for v in [generation, rows as u64, total as u64] {
                header.extend_from_slice(&v.to_le_bytes());
            }
            put(out, 0, &header)?;
            let ids: Vec<u8> = self.ids.iter().flat_map(|v| v.to_le_bytes()).collect();
            put(out, ids_at, &ids)?;
            let mut next = 0u64;
            let starts: Vec<u8> = self
                .lens
                .iter()
                .flat_map(|&l| {
                    let s = next;
                    next += u64::from(l);
                    s.to_le_bytes()
                })
                .collect();
            put(out, starts_at, &starts)?;
            let lens: Vec<u8> = self.lens.iter().flat_map(|v| v.to_le_bytes()).collect();
            put(out, lens_at, &lens)?;
            let mut at = data_at;
            for r in 0..rows {
                let b = self.bytes_of(r);
                put(out, at, b)?;
                at += b.len();
            }
            put(out, end, &[])?;
            Ok(())
        })?;
        Ok(name)
    }

    /// The table in the file `meta` names, mapped, if it holds `generation`
    /// (`Ok(None)`: stale, or a file that disagrees with itself: ids out of
    /// order, a row outside the bytes).
    pub(super) fn open(
        dir: &Path,
        meta: &VectorFileMeta,
        generation: u64,
    ) -> std::io::Result<Option<Self>> {
        if meta.generation != generation || !is_record_file(&meta.name) {
            return Ok(None);
        }
        let file = File::open(dir.join(&meta.name))?;
        // SAFETY: as for the vector file: written once under a temporary name,
        // never changed after the rename, unlinked (not truncated) when replaced.
        let map = unsafe { Mmap::map(&file)? };
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Random);
        let map = Arc::new(map);
        let Some(header) = map.get(..HEADER) else {
            return Ok(None);
        };
        let word = |i: usize| u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().unwrap());
        let (file_generation, rows, total) = (word(0), word(1), word(2));
        let (Ok(rows), Ok(total)) = (usize::try_from(rows), usize::try_from(total)) else {
            return Ok(None);
        };
        let Some([ids_at, starts_at, lens_at, data_at, end]) = layout(rows, total) else {
            return Ok(None);
        };
        if &header[..8] != MAGIC || file_generation != generation || end != map.len() {
            return Ok(None);
        }
        let (Some(ids), Some(starts), Some(lens), Some(bytes)) = (
            Slab::<ImageId>::in_file(&map, ids_at, rows),
            Slab::<u64>::in_file(&map, starts_at, rows),
            Slab::<u32>::in_file(&map, lens_at, rows),
            Slab::<u8>::in_file(&map, data_at, total),
        ) else {
            return Ok(None);
        };
        let sorted = ids.windows(2).all(|w| w[0] < w[1]);
        let inside = starts.iter().zip(lens.iter()).all(|(&s, &l)| {
            s.checked_add(u64::from(l))
                .is_some_and(|e| e <= total as u64)
        });
        if !(sorted && inside) {
            return Ok(None);
        }
        Ok(Some(Self {
            ids,
            starts,
            lens,
            bytes,
            garbage: 0,
        }))
    }

    /// Whether the table is read in place from its file, unchanged (a change
    /// copies the columns it changes; the records' bytes stay mapped until
    /// one is written).
    pub(super) fn is_mapped(&self) -> bool {
        self.ids.is_mapped()
            && self.starts.is_mapped()
            && self.lens.is_mapped()
            && self.bytes.is_mapped()
    }

    /// Copies the rows' bytes into a new buffer without the garbage.
    fn compact(&mut self) {
        let mut bytes = Vec::with_capacity(self.bytes.len() - self.garbage);
        let mut starts = Vec::with_capacity(self.len());
        for r in 0..self.len() {
            starts.push(bytes.len() as u64);
            bytes.extend_from_slice(self.bytes_of(r));
        }
        self.bytes = bytes.into();
        self.starts = starts.into();
        self.garbage = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecordFields;

    fn record(i: u64) -> ImageRecord {
        ImageRecord {
            path: format!("/photos/{}/img_{i}.jpg", i % 7).into_bytes(),
            size: 1000 + i,
            mtime_ns: i as i64 * 1_000_000_000,
            hash: [i as u8; 32],
            width: 640 + i as u32,
            height: 480,
            format: "jpeg".into(),
            taken: i.is_multiple_of(2).then_some(i as i64),
            camera: i.is_multiple_of(3).then(|| format!("Camera {i}")),
            indexed_at: 7,
            gps: crate::places::Gps::new(38.7, -9.1 + i as f64 * 0.001),
            place: i.is_multiple_of(5).then(|| crate::places::Place {
                city: "Lisbon".into(),
                region: "Lisbon".into(),
                country: "PT".into(),
            }),
            text: i.is_multiple_of(4).then(|| format!("sign {i}")),
            video: i.is_multiple_of(6).then(|| crate::store::Video {
                duration_ms: 5000,
                frames_ms: vec![100, 2000, 4000],
            }),
        }
    }

    #[test]
    fn records_read_back_whole_and_in_place_through_changes() {
        let ids: Vec<u64> = (1..=300).filter(|i| i % 11 != 0).collect();
        let encoded: Vec<(u64, Vec<u8>)> = ids.iter().map(|&i| (i, encode(&record(i)))).collect();
        let (low, high) = encoded.split_at(100);
        let mut table = RecordTable::from_encoded(low.iter().map(|(i, b)| (*i, b))).unwrap();
        table.append(RecordTable::from_encoded(high.iter().map(|(i, b)| (*i, b))).unwrap());
        assert_eq!(table.len(), ids.len());
        for &i in &ids {
            let want = record(i);
            assert_eq!(table.record(i).as_ref(), Some(&want), "record {i}");
            let r = table.get(i).unwrap();
            assert_eq!(r.path, &want.path[..]);
            assert_eq!(r.when(), want.date());
            assert_eq!(r.camera_name(), want.camera.as_deref());
            assert_eq!(r.country_region(), want.country_region());
            assert_eq!(r.picture_text(), want.text.as_deref());
            assert_eq!(r.short_side(), 480);
        }
        assert!(table.get(11).is_none() && table.get(0).is_none() && table.get(301).is_none());

        // Remove some, change some, add some (also below the last id).
        let removed: Vec<u64> = vec![1, 2, 150, 299];
        let mut changed = record(3);
        changed.path = b"/moved/elsewhere.jpg".to_vec();
        let added: Vec<(u64, ImageRecord)> = vec![(11, record(11)), (400, record(400))];
        let ups: Vec<(u64, &ImageRecord)> = std::iter::once((3, &changed))
            .chain(added.iter().map(|(i, r)| (*i, r)))
            .collect();
        table.apply(&removed, ups);
        for &i in &removed {
            assert!(table.record(i).is_none(), "{i} removed");
        }
        assert_eq!(table.record(3).unwrap().path, b"/moved/elsewhere.jpg");
        assert_eq!(table.record(11), Some(record(11)));
        assert_eq!(table.record(400), Some(record(400)));
        assert_eq!(table.record(4), Some(record(4)));
        assert!(table.ids().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(table.len(), ids.len() - removed.len() + 2);
        assert_eq!(table.ids_where(&|_, _| true).len(), table.len());
        table.compact();
        assert_eq!(table.garbage, 0);
        assert_eq!(table.record(3).unwrap().path, b"/moved/elsewhere.jpg");
        assert_eq!(table.records().count(), table.len());
        let even: Vec<u64> = table.ids().iter().copied().filter(|i| i % 2 == 0).collect();
        assert_eq!(
            table.ids_where(&|id, r| id % 2 == 0 && !r.path.is_empty()),
            even
        );
        // A sample spreads over the whole table.
        let sampled: Vec<u64> = table.sample(10).map(|(id, _)| id).collect();
        assert!(
            sampled.len() >= 9 && *sampled.last().unwrap() > 250,
            "{sampled:?}"
        );
    }

    #[test]
    fn the_table_file_maps_back_the_same_records_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let encoded: Vec<(u64, Vec<u8>)> = (5..500).map(|i| (i, encode(&record(i)))).collect();
        let mut table = RecordTable::from_encoded(encoded.iter().map(|(i, b)| (*i, b))).unwrap();
        // Garbage inside: the file holds only the rows.
        let mut changed = record(7);
        changed.format = "png".into();
        table.apply(&[9], [(7, &changed)]);
        let name = table.write(dir.path(), 42).unwrap();
        assert!(is_record_file(&name));
        let meta = VectorFileMeta {
            name: name.clone(),
            generation: 42,
        };
        let mut mapped = RecordTable::open(dir.path(), &meta, 42).unwrap().unwrap();
        assert!(mapped.is_mapped());
        assert_eq!(mapped.ids(), table.ids());
        for &id in table.ids() {
            assert_eq!(mapped.record(id), table.record(id), "{id}");
        }
        assert_eq!(mapped.record(7).unwrap().format, "png");
        assert!(mapped.record(9).is_none());
        // Another generation is stale.
        assert!(RecordTable::open(dir.path(), &meta, 43).unwrap().is_none());
        // A change copies the table out of the file, which stays as written.
        mapped.apply(&[5], []);
        assert!(!mapped.is_mapped());
        assert!(mapped.record(5).is_none());
        let again = RecordTable::open(dir.path(), &meta, 42).unwrap().unwrap();
        assert_eq!(again.record(5), Some(record(5)));
        // Cut short, or ids out of order: not used.
        let path = dir.path().join(&name);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(RecordTable::open(dir.path(), &meta, 42).unwrap().is_none());
        let mut swapped = bytes.clone();
        let [ids_at, ..] = layout(again.len(), 0).unwrap();
        swapped[ids_at..ids_at + 8].copy_from_slice(&1000u64.to_le_bytes());
        std::fs::write(&path, &swapped).unwrap();
        assert!(RecordTable::open(dir.path(), &meta, 42).unwrap().is_none());
        std::fs::write(&path, &bytes).unwrap();
        assert!(RecordTable::open(dir.path(), &meta, 42).unwrap().is_some());
    }

    #[test]
    fn an_older_layout_is_encoded_again_and_a_damaged_record_named() {
        let old = postcard::to_allocvec(&crate::store::RecordV1 {
            path: b"/old/a.png".to_vec(),
            size: 5,
            mtime_ns: 0,
            hash: [1; 32],
            width: 10,
            height: 20,
            format: "png".into(),
            taken: None,
            camera: None,
            indexed_at: 3,
        })
        .unwrap();
        let table = RecordTable::from_encoded([(4u64, old.clone())]).unwrap();
        assert_eq!(table.get(4).unwrap().path, b"/old/a.png");
        assert_eq!(table.record(4).unwrap(), decode_record(&old).unwrap());
        assert_eq!(
            RecordTable::from_encoded([(4u64, old), (9, vec![0xff, 0xff])]).unwrap_err(),
            9
        );
    }
}
