//! Smart albums on constructed vectors: membership follows the stored
//! embeddings as images arrive and leave, previews match what a new threshold
//! does, albums persist and bad definitions are refused.

use scry::albums::{members, preview, Album};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::{Error, Library};

fn unit(v: Vec<f32>) -> Vec<f32> {
    scry::model::normalize(v)
}

/// A vector at a chosen cosine `c` from axis 0 (in the plane of axes 0 and 1).
fn at_cosine(c: f32, dim: usize) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    v[0] = c;
    v[1] = (1.0 - c * c).sqrt();
    v
}

pub(crate) fn image(i: u64, vector: Vec<f32>) -> NewImage {
    NewImage {
        record: ImageRecord {
            path: format!("/photos/img_{i}.jpg").into_bytes(),
            size: i,
            mtime_ns: 0,
            hash: [i as u8; 32],
            width: 100,
            height: 100,
            format: "jpeg".into(),
            taken: None,
            camera: None,
            indexed_at: 0,
            gps: None,
            place: None,
            text: None,
            video: None,
        },
        vector,
        thumbnail: Vec::new(),
        phash: i,
        frames: Vec::new(),
    }
}

/// A new library in `dir` holding `added`, and their ids (also for the tag
/// tests).
pub(crate) fn library_with(
    dir: &std::path::Path,
    dim: usize,
    added: Vec<NewImage>,
) -> (Library, Vec<u64>) {
    let mut lib = Library::open(dir).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    let ids = lib
        .commit(&ChangeSet {
            added,
            ..Default::default()
        })
        .unwrap()
        .added_ids;
    (lib, ids)
}

#[test]
fn membership_follows_new_and_removed_images_and_previews_are_exact() {
    let dim = 8;
    let tmp = tempfile::tempdir().unwrap();
    let cosines = [0.95, 0.9, 0.85, 0.6, 0.3, -0.2];
    let added: Vec<NewImage> = cosines
        .iter()
        .enumerate()
        .map(|(i, &c)| image(i as u64, at_cosine(c, dim)))
        .collect();
    let (mut lib, ids) = library_with(tmp.path(), dim, added);
    let mut axis = vec![0.0; dim];
    axis[0] = 1.0;
    let album = Album {
        name: "axis".into(),
        prompts: vec!["constructed".into()],
        example: None,
        threshold: 0.8,
        vector: unit(axis),
        owner: None,
        marks: Vec::new(),
        prior: None,
    };
    lib.put_album(album.clone()).unwrap();
    let got: Vec<u64> = members(&lib, &album, 0.8)
        .unwrap()
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(got, ids[..3], "best first, the threshold inclusive of 0.85");

    // New images are members as soon as they are committed; removed ones leave.
    let more = lib
        .commit(&ChangeSet {
            added: vec![
                image(10, at_cosine(0.99, dim)),
                image(11, at_cosine(0.1, dim)),
            ],
            ..Default::default()
        })
        .unwrap()
        .added_ids;
    lib.commit(&ChangeSet {
        removed: vec![ids[1]],
        ..Default::default()
    })
    .unwrap();
    let got: Vec<u64> = members(&lib, &album, 0.8)
        .unwrap()
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(got, vec![more[0], ids[0], ids[2]]);

    // Previews: exactly the images between the two thresholds.
    let (enter, leave) = preview(&lib, &album, 0.5, &scry::access::Visibility::All).unwrap();
    assert_eq!(enter.iter().map(|m| m.0).collect::<Vec<_>>(), vec![ids[3]]);
    assert!(leave.is_empty());
    let (enter, leave) = preview(&lib, &album, 0.96, &scry::access::Visibility::All).unwrap();
    assert!(enter.is_empty());
    assert_eq!(
        leave.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );

    // Albums persist; bad ones are refused; unknown names list what exists.
    drop(lib);
    let mut lib = Library::open(tmp.path()).unwrap();
    assert_eq!(lib.albums().unwrap(), vec![album.clone()]);
    let bad_name = Album {
        name: "Not OK".into(),
        ..album.clone()
    };
    assert!(matches!(
        lib.put_album(bad_name),
        Err(Error::InvalidArgument(_))
    ));
    let bad_dim = Album {
        name: "short".into(),
        vector: vec![1.0; 3],
        ..album.clone()
    };
    assert!(matches!(
        lib.put_album(bad_dim),
        Err(Error::InvalidArgument(_))
    ));
    let bad_threshold = Album {
        name: "nan".into(),
        threshold: f32::NAN,
        ..album.clone()
    };
    assert!(matches!(
        lib.put_album(bad_threshold),
        Err(Error::InvalidArgument(_))
    ));
    match lib.album("receipts") {
        Err(Error::NotFound(m)) => assert!(m.contains("albums: axis"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(lib.remove_album("axis").unwrap());
    assert!(!lib.remove_album("axis").unwrap());
    assert!(lib.albums().unwrap().is_empty());
}

/// A small deterministic generator (xorshift64*) with normal draws.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.next().max(1e-300), self.next());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
    fn unit(&mut self, dim: usize) -> Vec<f32> {
        unit((0..dim).map(|_| self.normal()).collect())
    }
}

fn add(a: &[f32], b: &[f32], s: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + s * y).collect()
}

/// Constructed photos like CLIP's: ten kinds of photo around their own centre,
/// and a prompt that sits in text space (far from every photo) and leans
/// toward the album's kind but almost as much toward a look-alike kind — "dogs"
/// also fires on wolves. Returns the library, the album's prompt-only
/// definition and the ids by kind.
fn constructed(seed: u64, dir: &std::path::Path) -> (Library, Album, Vec<Vec<u64>>) {
    let (dim, kinds, per_kind) = (64, 10, 40);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let centres: Vec<Vec<f32>> = (0..kinds).map(|_| rng.unit(dim)).collect();
    let mut added = Vec::new();
    for (k, centre) in centres.iter().enumerate() {
        for j in 0..per_kind {
            let noise = rng.unit(dim);
            let i = (k * per_kind + j) as u64;
            let mut img = image(i, unit(add(centre, &noise, 1.1)));
            img.record.hash = [0; 32];
            img.record.hash[..8].copy_from_slice(&i.to_le_bytes());
            added.push(img);
        }
    }
    let text = rng.unit(dim);
    let prompt = unit(add(&add(&text, &centres[0], 0.45), &centres[1], 0.38));
    let (lib, ids) = library_with(dir, dim, added);
    let by_kind = ids.chunks(per_kind).map(|c| c.to_vec()).collect();
    let album = Album {
        name: "dogs".into(),
        prompts: vec!["constructed".into()],
        example: None,
        threshold: 0.25,
        vector: prompt,
        owner: None,
        marks: Vec::new(),
        prior: None,
    };
    (lib, album, by_kind)
}

/// Precision at the album's true size, over the photos nobody marked.
fn precision(lib: &Library, album: &Album, truth: &[u64], marked: &[u64]) -> f64 {
    let ranked: Vec<u64> = members(lib, album, -1.0)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !marked.contains(id))
        .collect();
    let size = truth.iter().filter(|id| !marked.contains(id)).count();
    let hits = ranked[..size]
        .iter()
        .filter(|id| truth.contains(id))
        .count();
    hits as f64 / size as f64
}

#[test]
fn eight_yes_and_eight_no_beat_the_prompt_alone() {
    let mut prompt_only = Vec::new();
    let mut probed = Vec::new();
    for seed in 1..=7 {
        let tmp = tempfile::tempdir().unwrap();
        let (mut lib, album, kinds) = constructed(seed, tmp.path());
        // Marks as a person gives them looking at the album: 8 right ones, and
        // 8 look-alikes rejected.
        let yes: Vec<u64> = kinds[0][..8].to_vec();
        let no: Vec<u64> = kinds[1][..8].to_vec();
        let mut taught = album.clone();
        for &id in &yes {
            taught = scry::albums::mark(&lib, &taught, id, Some(true)).unwrap();
        }
        for &id in &no {
            taught = scry::albums::mark(&lib, &taught, id, Some(false)).unwrap();
        }
        assert_eq!(taught.marks.len(), 16);
        assert_eq!(
            taught.prior().vector,
            album.vector,
            "the prompts' vector is kept"
        );
        let marked: Vec<u64> = yes.iter().chain(&no).copied().collect();
        let before = precision(&lib, &album, &kinds[0], &marked);
        let after = precision(&lib, &taught, &kinds[0], &marked);
        prompt_only.push(before);
        probed.push(after);
        // Marked photos are in or out whatever their score.
        let now: Vec<u64> = members(&lib, &taught, taught.threshold)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert!(yes.iter().all(|id| now.contains(id)));
        assert!(no.iter().all(|id| !now.contains(id)));
        // Unmarking everything gives the prompts' album back exactly.
        let mut undone = taught.clone();
        for &id in &marked {
            undone = scry::albums::mark(&lib, &undone, id, None).unwrap();
        }
        assert_eq!(
            (undone.vector.clone(), undone.threshold),
            (album.vector.clone(), album.threshold)
        );
        assert!(undone.marks.is_empty() && undone.prior.is_none());
        // After a rebuild the marks' vectors are found again by content hash.
        let mut rebuilt = taught.clone();
        rebuilt.marks.iter_mut().for_each(|m| m.vector.clear());
        let refit = scry::albums::refit(&lib, rebuilt).unwrap();
        assert_eq!(
            (refit.vector.clone(), refit.threshold),
            (taught.vector.clone(), taught.threshold)
        );
        lib.put_album(taught).unwrap();
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, a) = (
        median(&mut prompt_only.clone()),
        median(&mut probed.clone()),
    );
    println!(
        "precision at the album size, 7 constructed libraries: prompt alone {prompt_only:.3?} \
         (median {b:.3}), 8 yes + 8 no {probed:.3?} (median {a:.3})"
    );
    assert!(
        a >= b + 0.15,
        "the probe gains {:.3} over the prompt",
        a - b
    );
    assert!(
        probed.iter().zip(&prompt_only).all(|(a, b)| a >= b),
        "the probe is never worse: {probed:?} vs {prompt_only:?}"
    );
}
