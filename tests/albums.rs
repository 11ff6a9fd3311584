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

fn image(i: u64, vector: Vec<f32>) -> NewImage {
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
        },
        vector,
        thumbnail: Vec::new(),
        phash: i,
    }
}

#[test]
fn membership_follows_new_and_removed_images_and_previews_are_exact() {
    let dim = 8;
    let tmp = tempfile::tempdir().unwrap();
    let mut lib = Library::open(tmp.path()).unwrap();
    lib.bind_model("test-model", dim).unwrap();
    let cosines = [0.95, 0.9, 0.85, 0.6, 0.3, -0.2];
    let added: Vec<NewImage> = cosines
        .iter()
        .enumerate()
        .map(|(i, &c)| image(i as u64, at_cosine(c, dim)))
        .collect();
    let ids = lib
        .commit(&ChangeSet {
            added,
            ..Default::default()
        })
        .unwrap()
        .added_ids;
    let mut axis = vec![0.0; dim];
    axis[0] = 1.0;
    let album = Album {
        name: "axis".into(),
        prompts: vec!["constructed".into()],
        example: None,
        threshold: 0.8,
        vector: unit(axis),
        owner: None,
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
