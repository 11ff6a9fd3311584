//! Gate and OCR on the fixture set and on photos without text.
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(f) = std::env::var("ONE") { dbg_one(&f); return; }
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("tests/fixtures/ocr/manifest.json").unwrap()).unwrap();
    let (mut hit, mut tot, mut passed) = (0, 0, 0);
    let t = Instant::now();
    for e in manifest.as_array().unwrap() {
        let f = format!("tests/fixtures/ocr/{}", e["file"].as_str().unwrap());
        let rgb = scry::preprocess::to_rgb(scry::decode::decode_full(&std::fs::read(&f).unwrap(), None).unwrap().image);
        let g = scry::ocr::gate(&rgb);
        if g.passes() { passed += 1; }
        let text = scry::ocr::read_text(&rgb, &g, "eng").unwrap().to_lowercase();
        for w in e["words"].as_array().unwrap() {
            tot += 1;
            let w = w.as_str().unwrap();
            if scry::keyword::tokens(&text).iter().any(|t| t == w) { hit += 1 } else { println!("miss {f} {w}: {:?}", text.replace('\n', " | ")); }
        }
        println!("{f} gate {:.3} light {:.2}", g.text_blocks, g.light_share);
    }
    println!("words {hit}/{tot}; gate passed {passed}; {:.1}s", t.elapsed().as_secs_f64());
    for f in &args {
        let Ok(bytes) = std::fs::read(f) else { continue };
        let Ok(d) = scry::decode::decode_full(&bytes, Some(448)) else { continue };
        let rgb = scry::preprocess::to_rgb(d.image);
        let t = Instant::now();
        let g = scry::ocr::gate(&rgb);
        println!("neg {f} gate {:.3} light {:.2} pass {} {:?}", g.text_blocks, g.light_share, g.passes(), t.elapsed());
    }
}
#[allow(dead_code)]
fn dbg_one(f: &str) {
    let rgb = scry::preprocess::to_rgb(scry::decode::decode_full(&std::fs::read(f).unwrap(), None).unwrap().image);
    let g = scry::ocr::gate(&rgb);
    println!("{f}: {:?}", scry::ocr::read_text(&rgb, &g, "eng"));
}
