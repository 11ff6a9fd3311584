//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, kept by cargo-fuzz runs, see
//! fuzz/README.md) through the same code the fuzz targets call, with the same checks.

use std::path::PathBuf;

use crate::common::repo_root;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo_root().join("fuzz/corpus").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn query_parser_corpus_never_panics() {
    let inputs = corpus("query");
    assert!(inputs.len() >= 10, "the corpus is committed");
    for (path, bytes) in inputs {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let r = std::panic::catch_unwind(|| scry::query::parse_query(text));
            assert!(r.is_ok(), "{} panics the parser", path.display());
        }
    }
}

#[test]
fn decode_corpus_gives_pixels_or_errors() {
    let inputs = corpus("decode");
    assert!(inputs.len() >= 10, "the corpus is committed");
    let pre = scry::Preprocessor::clip(224);
    let (mut ok, mut refused) = (0, 0);
    for (path, bytes) in inputs {
        let r = std::panic::catch_unwind(|| pre.pixels_from_bytes(&bytes));
        match r {
            Err(_) => panic!("{} panics the decoder", path.display()),
            Ok(Ok(pixels)) => {
                assert_eq!(pixels.len(), 3 * 224 * 224, "{}", path.display());
                assert!(pixels.iter().all(|v| v.is_finite()), "{}", path.display());
                ok += 1;
            }
            Ok(Err(_)) => refused += 1,
        }
    }
    println!("decode corpus: {ok} decoded, {refused} refused with an error");
}
