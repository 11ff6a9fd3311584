//! Duplicate tiers on real files with the tiny fixture model: variants made from
//! the sample photos (re-encoded, resized, cropped, re-tagged, byte copies) are
//! found in the right tier, and different photos are never grouped.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use scry::dupes::{find, DupeOptions, Tier};
use scry::{ClipModel, Library};
use scry_indexer::{index, IndexOptions, Silent};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn save_jpeg(img: &image::RgbImage, path: &Path, quality: u8) {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    std::fs::write(path, out).unwrap();
}

/// The same JPEG bytes with a comment segment after SOI: other metadata, same pixels.
fn retag(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let text = b"edited in a photo manager";
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn variants_land_in_their_tier_and_different_photos_are_never_grouped() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    let sample = root().join("sample_data");
    // Distinct photos (one file each; the sample set's own look-alikes are left out).
    let originals = [
        "animals/chelsea.jpg",
        "animals/horse.png",
        "space/rocket.jpg",
        "space/hubble_deep_field.jpg",
        "space/astronaut.webp",
        "textures/grass.jpg",
        "textures/gravel.png",
        "textures/brick.png",
        "science/retina.jpg",
        "science/cell.png",
        "people/camera.png",
        "misc/COINS.PNG",
        "food/coffee.png",
    ];
    std::fs::create_dir_all(&photos).unwrap();
    // source of every file: its original's name
    let mut source: HashMap<String, &str> = HashMap::new();
    for o in originals {
        let name = o.replace('/', "_");
        std::fs::copy(sample.join(o), photos.join(&name)).unwrap();
        source.insert(name, o);
    }
    let decode = |o: &str| image::open(sample.join(o)).unwrap().into_rgb8();
    let mut variant = |name: &str, of: &'static str| {
        source.insert(name.to_string(), of);
        photos.join(name)
    };
    // Near: re-encoded at another quality.
    let rocket = decode("space/rocket.jpg");
    save_jpeg(&rocket, &variant("rocket-q55.jpg", "space/rocket.jpg"), 55);
    // Near: resized to half, another format.
    let horse = decode("animals/horse.png");
    image::imageops::resize(
        &horse,
        horse.width() / 2,
        horse.height() / 2,
        image::imageops::FilterType::CatmullRom,
    )
    .save(variant("horse-half.png", "animals/horse.png"))
    .unwrap();
    // Near: cropped by 5 % (2.5 % off each side).
    let cat = decode("animals/chelsea.jpg");
    let (w, h) = cat.dimensions();
    let (dx, dy) = (w / 40, h / 40);
    let cropped = image::imageops::crop_imm(&cat, dx, dy, w - 2 * dx, h - 2 * dy).to_image();
    save_jpeg(
        &cropped,
        &variant("chelsea-crop.jpg", "animals/chelsea.jpg"),
        90,
    );
    // Near: same pixels, other metadata.
    let retina = std::fs::read(sample.join("science/retina.jpg")).unwrap();
    std::fs::write(
        variant("retina-retagged.jpg", "science/retina.jpg"),
        retag(&retina),
    )
    .unwrap();
    // Exact: a byte copy; and a smaller version of the same photo, which is near
    // the pair of copies (the copies count once there, as their keeper).
    std::fs::copy(
        sample.join("textures/grass.jpg"),
        variant("grass copy.jpg", "textures/grass.jpg"),
    )
    .unwrap();
    let grass = decode("textures/grass.jpg");
    image::imageops::resize(
        &grass,
        grass.width() * 3 / 4,
        grass.height() * 3 / 4,
        image::imageops::FilterType::CatmullRom,
    )
    .save(variant("grass-smaller.png", "textures/grass.jpg"))
    .unwrap();

    let model = ClipModel::load_dir(&root().join("tests/fixtures/tiny-clip")).unwrap();
    let lib = std::sync::RwLock::new(Library::open(&tmp.path().join("lib")).unwrap());
    let summary = index(
        &lib,
        &model,
        std::slice::from_ref(&photos),
        &IndexOptions::default(),
        &Silent,
    )
    .unwrap();
    assert_eq!(summary.failed, 0, "{summary:?}");
    let lib = lib.into_inner().unwrap();
    let name_of = |id: u64| {
        lib.meta(id)
            .unwrap()
            .unwrap()
            .path_buf()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };

    let opts = DupeOptions::default();
    let groups = find(&lib, None, &opts).unwrap();
    for g in &groups {
        let names: Vec<String> = g
            .members
            .iter()
            .map(|m| {
                format!(
                    "{} (cos {:.3}, bits {:?})",
                    name_of(m.id),
                    m.cosine,
                    m.phash_bits
                )
            })
            .collect();
        println!("{}: {names:?}", g.tier);
    }
    // Precision: every group holds one picture only.
    for g in &groups {
        let sources: HashSet<&str> = g.members.iter().map(|m| source[&name_of(m.id)]).collect();
        assert_eq!(sources.len(), 1, "different photos grouped: {g:?}");
    }
    // Recall: each variant is in a group of its tier with its original.
    let grouped = |tier: Tier, a: &str, b: &str| {
        groups.iter().any(|g| {
            let names: HashSet<String> = g.members.iter().map(|m| name_of(m.id)).collect();
            g.tier == tier && names.contains(a) && names.contains(b)
        })
    };
    assert!(grouped(Tier::Exact, "textures_grass.jpg", "grass copy.jpg"));
    for (v, o) in [
        ("rocket-q55.jpg", "space_rocket.jpg"),
        ("horse-half.png", "animals_horse.png"),
        ("chelsea-crop.jpg", "animals_chelsea.jpg"),
        ("retina-retagged.jpg", "science_retina.jpg"),
    ] {
        assert!(
            grouped(Tier::Near, v, o),
            "{v} not found as a near duplicate of {o}"
        );
    }
    assert_eq!(groups.iter().filter(|g| g.tier == Tier::Exact).count(), 1);
    assert_eq!(groups.iter().filter(|g| g.tier == Tier::Near).count(), 5);
    // Tiers are never mixed: no near group holds two byte-identical files.
    for g in groups.iter().filter(|g| g.tier == Tier::Near) {
        let hashes: HashSet<[u8; 32]> = g
            .members
            .iter()
            .map(|m| lib.meta(m.id).unwrap().unwrap().hash)
            .collect();
        assert_eq!(
            hashes.len(),
            g.members.len(),
            "copies in a near group: {g:?}"
        );
    }
    // No capture times: nothing is a burst.
    assert!(groups.iter().all(|g| g.tier != Tier::Similar));
    // The keeper of a resized pair is the larger one.
    let horse_group = groups
        .iter()
        .find(|g| g.members.iter().any(|m| name_of(m.id) == "horse-half.png"))
        .unwrap();
    assert_eq!(name_of(horse_group.keeper), "animals_horse.png");
    // One tier at a time gives the same groups of that tier.
    let near_only = find(&lib, Some(Tier::Near), &opts).unwrap();
    assert_eq!(near_only.len(), 5);
    assert!(near_only.iter().all(|g| g.tier == Tier::Near));
}
