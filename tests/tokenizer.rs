//! Token ids against open_clip's tokenizer (the original OpenAI behaviour).

use scry::model::ClipTokenizer;

use crate::common::{read_json, repo_root, tiny_model_dir, token_ids};

fn tokenizer() -> ClipTokenizer {
    ClipTokenizer::from_file(&tiny_model_dir().join("tokenizer.json"), 77).unwrap()
}

#[test]
fn every_corpus_string_tokenizes_exactly_as_open_clip() {
    let golden = read_json(&repo_root().join("tests/fixtures/tokens.json"));
    let cases = golden.as_array().unwrap();
    assert!(
        cases.len() >= 200,
        "the corpus must have at least 200 strings"
    );
    let tok = tokenizer();
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = token_ids(&case["ids"]);
        let got = tok.encode(text);
        if got != want {
            failures.push(format!("{text:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} strings differ from open_clip:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}

#[test]
fn known_ids_and_shape_rules() {
    let tok = tokenizer();
    // The documented reference value.
    assert_eq!(
        tok.encode("a photo of a cat"),
        [49406, 320, 1125, 539, 320, 2368, 49407]
    );
    // Empty and whitespace-only queries are valid: just SOT, EOT.
    assert_eq!(tok.encode(""), [49406, 49407]);
    assert_eq!(tok.encode(" \t\n "), [49406, 49407]);
    // Long text: 77 ids, EOT kept last.
    let long = tok.encode(&"word ".repeat(500));
    assert_eq!(long.len(), 77);
    assert_eq!(*long.last().unwrap(), 49407);
    // Curly apostrophes typed on phones mean the same as straight ones.
    assert_eq!(tok.encode("it’s a dog"), tok.encode("it's a dog"));
    // HF's special-token spelling typed by a user is plain text in the original.
    let typed = tok.encode("<|endoftext|>");
    assert!(typed.len() > 3 && typed[1..typed.len() - 1].iter().all(|&i| i < 49406));
}

#[test]
fn a_tokenizer_json_that_is_not_clip_is_refused() {
    for (json, why) in [
        ("{", "not valid JSON"),
        (r#"{"model":{"type":"WordPiece"}}"#, "not BPE"),
        (
            r#"{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]}}"#,
            "<|startoftext|>",
        ),
    ] {
        let err = ClipTokenizer::from_json(json, 77).unwrap_err();
        assert!(err.contains(why), "{json}: {err}");
    }
}
