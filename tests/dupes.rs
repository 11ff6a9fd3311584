//! Duplicate tiers on constructed vectors and records: bursts and retakes
//! (similar shots) are told apart by capture time, near duplicates by the
//! perceptual hash, and the keeper follows resolution, EXIF, age.

use scry::dupes::{find, DupeOptions, Tier};
use scry::store::{ChangeSet, ImageRecord, NewImage};
use scry::Library;

fn noise(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed | 1;
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// `base` moved towards random noise by `amount`, normalised.
fn nudge(base: &[f32], seed: u64, amount: f32) -> Vec<f32> {
    let n = scry::model::normalize(noise(seed, base.len()));
    scry::model::normalize(base.iter().zip(&n).map(|(b, x)| b + amount * x).collect())
}

struct Shot {
    name: &'static str,
    vector: Vec<f32>,
    phash: u64,
    taken: Option<i64>,
    width: u32,
}

#[test]
fn bursts_retakes_and_near_duplicates_are_kept_apart() {
    let dim = 64;
    let scene = scry::model::normalize(noise(1, dim));
    let other_scene = scry::model::normalize(noise(99, dim));
    let t = 1_700_000_000;
    let shots = [
        // A burst: three different shots of one scene within five seconds.
        Shot {
            name: "burst-1.jpg",
            vector: nudge(&scene, 2, 0.35),
            phash: 0x0F0F_0F0F_0F0F_0F0F,
            taken: Some(t),
            width: 4000,
        },
        Shot {
            name: "burst-2.jpg",
            vector: nudge(&scene, 3, 0.35),
            phash: 0x0F0F_0F0F_F0F0_F0F0,
            taken: Some(t + 2),
            width: 4000,
        },
        Shot {
            name: "burst-3.jpg",
            vector: nudge(&scene, 4, 0.35),
            phash: 0xFF0F_0F0F_F0F0_0000,
            taken: Some(t + 5),
            width: 6000,
        },
        // The same scene a day later: a retake far in time, not part of the burst.
        Shot {
            name: "next-day.jpg",
            vector: nudge(&scene, 5, 0.35),
            phash: 0x1234_5678_9ABC_DEF0,
            taken: Some(t + 86_400),
            width: 4000,
        },
        // Another scene in the same second.
        Shot {
            name: "other.jpg",
            vector: other_scene.clone(),
            phash: 0x0F0F_0F0F_0F0F_0F0F,
            taken: Some(t + 1),
            width: 4000,
        },
        // A smaller re-encode of burst-1: a near duplicate, not a burst shot.
        Shot {
            name: "burst-1-small.jpg",
            vector: nudge(&scene, 2, 0.36),
            phash: 0x0F0F_0F0F_0F0F_0F0D,
            taken: Some(t),
            width: 1000,
        },
        // Look-alikes without capture times: never called a burst.
        Shot {
            name: "scan-a.png",
            vector: nudge(&other_scene, 6, 0.3),
            phash: 0xAAAA_0000_5555_0000,
            taken: None,
            width: 2000,
        },
        Shot {
            name: "scan-b.png",
            vector: nudge(&other_scene, 7, 0.3),
            phash: 0x5555_FFFF_AAAA_0000,
            taken: None,
            width: 2000,
        },
    ];
    let cos = |a: &[f32], b: &[f32]| scry::ann::dot(a, b);
    assert!(
        cos(&shots[0].vector, &shots[1].vector) > 0.86,
        "burst shots are CLIP-close"
    );
    assert!(
        cos(&shots[0].vector, &shots[4].vector) < 0.5,
        "another scene"
    );

    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    let added = shots
        .iter()
        .enumerate()
        .map(|(i, s)| NewImage {
            record: ImageRecord {
                path: format!("/photos/{}", s.name).into_bytes(),
                size: 1000 + i as u64,
                mtime_ns: 0,
                hash: [i as u8; 32],
                width: s.width,
                height: s.width * 3 / 4,
                format: "jpeg".into(),
                taken: s.taken,
                camera: s.taken.map(|_| "Canon".to_string()),
                indexed_at: 0,
                gps: None,
                place: None,
                text: None,
                video: None,
            },
            vector: s.vector.clone(),
            thumbnail: Vec::new(),
            phash: s.phash,
            frames: Vec::new(),
        })
        .collect();
    lib.commit(&ChangeSet {
        added,
        ..Default::default()
    })
    .unwrap();
    let name = |id: u64| {
        String::from_utf8(lib.meta(id).unwrap().unwrap().path.clone())
            .unwrap()
            .trim_start_matches("/photos/")
            .to_string()
    };
    let groups = find(&lib, None, &DupeOptions::default()).unwrap();
    let listed: Vec<(Tier, Vec<String>)> = groups
        .iter()
        .map(|g| (g.tier, g.members.iter().map(|m| name(m.id)).collect()))
        .collect();
    println!("{listed:?}");
    assert_eq!(
        listed,
        vec![
            (
                Tier::Near,
                vec!["burst-1.jpg".to_string(), "burst-1-small.jpg".into()]
            ),
            (
                Tier::Similar,
                vec![
                    "burst-3.jpg".to_string(),
                    "burst-1.jpg".into(),
                    "burst-2.jpg".into()
                ]
            ),
        ],
        "keepers first: the larger near duplicate, the highest-resolution burst shot"
    );
    // A wider time window takes the next day's retake in too; nothing else.
    let wide = DupeOptions {
        similar_within_secs: 2 * 86_400,
        ..DupeOptions::default()
    };
    let similar = find(&lib, Some(Tier::Similar), &wide).unwrap();
    assert_eq!(similar.len(), 1);
    let names: Vec<String> = similar[0].members.iter().map(|m| name(m.id)).collect();
    assert!(names.contains(&"next-day.jpg".to_string()), "{names:?}");
    assert!(!names
        .iter()
        .any(|n| n.starts_with("scan") || n == "other.jpg"));
}
