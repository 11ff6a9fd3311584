//! Parity with the reference (transformers' CLIPModel + CLIPImageProcessor, PIL
//! path) on random weights of the fixture's architecture.
//!
//! Tolerances, from the issue: pixels within 0.03 after normalisation (bicubic
//! implementations and JPEG decoders differ by a level or two); embeddings from the
//! reference's own pixels within cosine 0.99999; end to end from the file within
//! cosine 0.999; padded and unpadded text within 1e-5.

use scry::decode::decode_file;
use scry::model::cosine;
use scry::preprocess::to_rgb;
use scry::ClipModel;

use crate::common::{
    fixture_dir, floats, golden, golden_model, max_abs_diff, repo_root, token_ids,
};

/// The reference's pixels: its uint8 crop (saved losslessly) normalised exactly as
/// the reference does; make_fixtures.py checks this reproduces its tensor to 1e-5.
fn reference_pixels(entry: &serde_json::Value) -> Vec<f32> {
    let png = fixture_dir().join(entry["pixels_png"].as_str().unwrap());
    let crop = to_rgb(decode_file(&png).unwrap());
    golden_model().preprocessor().normalize(&crop)
}

fn images() -> &'static Vec<serde_json::Value> {
    golden()["images"].as_array().unwrap()
}

#[test]
fn preprocessing_matches_the_reference_pixels() {
    // Compared in 8-bit levels (|Δ| · std · 255): the issue's "0.03 after
    // normalisation" is two levels in the blue channel (2 / 255 / 0.2758 = 0.0284)
    // and a hair over 0.03 in green (0.03002). PNG and JPEG (the same libjpeg-turbo
    // as Pillow) land within one level; WebP's decoder and hard alpha edges cost two.
    let model = golden_model();
    let std = model.preprocessor().std;
    for entry in images() {
        let file = fixture_dir().join(entry["file"].as_str().unwrap());
        let ours = model.preprocessor().pixels_from_file(&file).unwrap();
        let reference = reference_pixels(entry);
        let plane = ours.len() / 3;
        let levels: Vec<f32> = ours
            .iter()
            .zip(&reference)
            .enumerate()
            .map(|(i, (a, b))| (a - b).abs() * std[i / plane] * 255.0)
            .collect();
        let max = levels.iter().copied().fold(0.0, f32::max);
        let over_one = levels.iter().filter(|&&l| l > 1.01).count() as f64 / levels.len() as f64;
        let max_norm = max_abs_diff(&ours, &reference);
        println!(
            "pixels {}: max |Δ| {max_norm:.4} ({max:.2} levels), {:.3} % over one level",
            file.display(),
            over_one * 100.0
        );
        assert!(max <= 2.01, "{}: {max} levels", file.display());
        assert!(
            over_one <= 0.005,
            "{}: {over_one} over one level",
            file.display()
        );
    }
}

#[test]
fn image_embedding_from_reference_pixels_matches() {
    let model = golden_model();
    let pixels: Vec<Vec<f32>> = images().iter().map(reference_pixels).collect();
    let ours = model.image_features(&pixels).unwrap();
    for (entry, got) in images().iter().zip(&ours) {
        let want = floats(&entry["features"]);
        let cos = cosine(got, &want);
        println!(
            "image (reference pixels) {}: cosine {cos:.8} (1 - cos = {:.1e})",
            entry["file"],
            1.0 - cos as f64
        );
        assert!(cos >= 0.99999, "{}: cosine {cos}", entry["file"]);
    }
}

#[test]
fn bf16_image_embeddings_stay_at_cosine_0_999_to_the_reference() {
    reduced_precision_stays_near_the_reference(scry::Precision::Bf16, "AVX-512 BF16");
}

#[test]
fn int8_image_embeddings_stay_at_cosine_0_999_to_the_reference() {
    reduced_precision_stays_near_the_reference(scry::Precision::Int8, "VNNI");
}

/// The image tower in `precision` (the fixture's model: the committed tiny
/// one, or SCRY_PARITY_FIXTURE's) against the reference's features; where the
/// CPU lacks it, the refusal names what it `needs`.
fn reduced_precision_stays_near_the_reference(precision: scry::Precision, needs: &str) {
    let mut model = ClipModel::load_dir(golden_model().dir()).unwrap();
    let supported = match precision {
        scry::Precision::Bf16 => ClipModel::bf16_supported(),
        _ => ClipModel::int8_supported(),
    };
    if !supported {
        let err = model.set_precision(precision).unwrap_err();
        assert!(err.to_string().contains(needs), "{err}");
        eprintln!("skipped: this CPU has no {needs}");
        return;
    }
    model.set_precision(precision).unwrap();
    assert_eq!(model.precision(), precision);
    // Once reduced, the f32 weights are gone: no way back, nor across.
    assert!(model.set_precision(scry::Precision::F32).is_err());
    let pixels: Vec<Vec<f32>> = images().iter().map(reference_pixels).collect();
    let reduced = model.image_features(&pixels).unwrap();
    let f32s = golden_model().image_features(&pixels).unwrap();
    for ((entry, got), exact) in images().iter().zip(&reduced).zip(&f32s) {
        let cos = cosine(got, &floats(&entry["features"]));
        println!("image ({precision}) {}: cosine {cos:.6}", entry["file"]);
        assert!(cos >= 0.999, "{}: cosine {cos}", entry["file"]);
        assert!(
            max_abs_diff(got, exact) > 0.0,
            "{precision} arithmetic was used"
        );
    }
    // Batched and single-image passes (sharded and column-split kernels) agree.
    let one = model.image_features(&pixels[..1]).unwrap();
    assert!(max_abs_diff(&one[0], &reduced[0]) < 1e-5);
    // The text tower stays f32.
    let q = ["a photo of a cat"];
    assert_eq!(
        model.embed_texts(&q).unwrap(),
        golden_model().embed_texts(&q).unwrap()
    );
}

#[test]
fn image_embedding_from_files_matches() {
    let model = golden_model();
    let files: Vec<_> = images()
        .iter()
        .map(|e| fixture_dir().join(e["file"].as_str().unwrap()))
        .collect();
    let ours = model.embed_image_files(&files, 4).unwrap();
    for (entry, got) in images().iter().zip(ours) {
        let got = got.unwrap();
        let cos = cosine(&got, &floats(&entry["features"]));
        println!(
            "image (end to end) {}: cosine {cos:.8} (1 - cos = {:.1e})",
            entry["file"],
            1.0 - cos as f64
        );
        assert!(cos >= 0.999, "{}: cosine {cos}", entry["file"]);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "embeddings are L2-normalised");
    }
}

#[test]
fn text_embedding_matches_the_padded_reference() {
    let model = golden_model();
    for entry in golden()["texts"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        let ids = model.tokenizer().encode(text);
        let want_ids: Vec<u32> = token_ids(&entry["ids"]);
        assert_eq!(ids, want_ids, "{text:?}");
        // Ours runs unpadded; the reference ran padded to 77.
        let got = &model.text_features(&[ids]).unwrap()[0];
        let want = floats(&entry["features"]);
        let cos = cosine(got, &want);
        let scale = want.iter().map(|x| x.abs()).fold(0.0, f32::max);
        println!(
            "text {text:?}: cosine {cos:.8} (1 - cos = {:.1e})",
            1.0 - cos as f64
        );
        assert!(cos >= 0.99999, "{text:?}: cosine {cos}");
        assert!(
            max_abs_diff(got, &want) <= 1e-4 * scale.max(1.0),
            "{text:?}"
        );
    }
    // The committed fixture stores f16: every weight is converted, none read in
    // place (a full-size one stores f32, read in place: the test below).
    if std::env::var_os("SCRY_PARITY_FIXTURE").is_none() {
        assert_eq!(model.text_weight_floats().unwrap().0, 0);
    }
}

/// A model file that stores f32 (as openai's CLIP checkpoints do) has the text
/// tower's token embedding and `[out, in]` matrices read in place from the mapped
/// file; the features are those of the same weights copied.
#[test]
fn text_weights_stored_as_f32_are_read_in_place_with_the_same_features() {
    use candle_core::{DType, Device};
    let model = golden_model();
    let tmp = tempfile::tempdir().unwrap();
    let from = model.dir();
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(from.join(f), tmp.path().join(f)).unwrap();
    }
    let tensors: std::collections::HashMap<String, candle_core::Tensor> =
        candle_core::safetensors::load(from.join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .into_iter()
            .map(|(n, t)| {
                let t = if t.dtype() == DType::F16 {
                    t.to_dtype(DType::F32).unwrap()
                } else {
                    t
                };
                (n, t)
            })
            .collect();
    candle_core::safetensors::save(&tensors, tmp.path().join("model.safetensors")).unwrap();
    let f32_model = ClipModel::load_dir(tmp.path()).unwrap();
    let (in_place, copied) = f32_model.text_weight_floats().unwrap();
    println!("text tower: {in_place} floats read in place, {copied} copied");
    let c = &model.config().text;
    let (d, mlp, layers) = (c.hidden_size, c.intermediate_size, c.num_hidden_layers);
    let per_layer_in_place = d * d + 2 * d * mlp; // out_proj, fc1, fc2
    let per_layer_copied = 3 * d * d + 4 * d + (3 * d + d + mlp + d); // Q/K/V, norms, biases
    assert_eq!(
        in_place,
        c.vocab_size * d + d * model.config().projection_dim + layers * per_layer_in_place
    );
    assert_eq!(
        copied,
        c.max_position_embeddings * d + 2 * d + layers * per_layer_copied
    );
    for entry in golden()["texts"].as_array().unwrap() {
        let ids = model.tokenizer().encode(entry["text"].as_str().unwrap());
        let copied = &model.text_features(std::slice::from_ref(&ids)).unwrap()[0];
        let mapped = &f32_model.text_features(&[ids]).unwrap()[0];
        assert_eq!(copied, mapped, "{entry}");
    }
}

#[test]
fn unpadded_text_equals_padded_to_1e5() {
    let model = golden_model();
    let context = model.tokenizer().context_length();
    for text in ["a photo of a cat", "", "kids building a sandcastle at dusk"] {
        let ids = model.tokenizer().encode(text);
        let mut padded = ids.clone();
        padded.resize(context, 0);
        let a = scry::model::normalize(model.text_features(&[ids]).unwrap().remove(0));
        let b = scry::model::normalize(model.text_features(&[padded]).unwrap().remove(0));
        let d = max_abs_diff(&a, &b);
        println!("{text:?}: unpadded vs padded max |Δ| = {d:.2e}");
        assert!(d <= 1e-5, "{text:?}: {d}");
    }
}

#[test]
fn batching_does_not_change_results() {
    let model = golden_model();
    let texts = [
        "a dog",
        "a very long description of a sunny beach with kids",
        "",
    ];
    let batch = model.embed_texts(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = &model.embed_texts(&[t]).unwrap()[0];
        assert!(max_abs_diff(single, b) <= 1e-5, "{t:?}");
    }
    let pixels: Vec<Vec<f32>> = images().iter().take(3).map(reference_pixels).collect();
    let together = model.embed_pixels(&pixels, 3).unwrap();
    let one_by_one = model.embed_pixels(&pixels, 1).unwrap();
    for (a, b) in together.iter().zip(&one_by_one) {
        assert!(max_abs_diff(a, b) <= 1e-5);
    }
}

#[test]
fn own_forward_pass_equals_candle_transformers() {
    // scry's encoder (fused QKV, GEMM epilogues, sharded batches, vectorised exp)
    // against candle-transformers' towers on the same weights: a batch large enough
    // to be split across threads, and texts of different lengths in one batch.
    let model = golden_model();
    let dir = fixture_dir().join(golden()["model"].as_str().unwrap());
    if model.config().vision_act() != scry::model::config::Act::QuickGelu {
        // candle-transformers' CLIP has QuickGELU only; exact-GELU fixtures are
        // checked against PyTorch's outputs by the tests above.
        eprintln!("skipped: candle-transformers' CLIP has no exact GELU");
        return;
    }
    let reference = scry::model::reference::ReferenceClip::load_dir(&dir).unwrap();
    let mut pixels: Vec<Vec<f32>> = images().iter().map(reference_pixels).collect();
    while pixels.len() < 9 {
        let mut p = pixels[pixels.len() % 3].clone();
        p.iter_mut().for_each(|v| *v = -*v);
        pixels.push(p);
    }
    let ours = model.image_features(&pixels).unwrap();
    let theirs = reference.image_features(&pixels).unwrap();
    let texts = ["a dog", "", "kids building a sandcastle at dusk on a beach"];
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| model.tokenizer().encode(t)).collect();
    let ours_t = model.text_features(&ids).unwrap();
    let theirs_t = reference.text_features(&ids).unwrap();
    assert_eq!(ours.len(), pixels.len());
    assert_eq!(ours_t.len(), texts.len());
    for (a, b) in ours.iter().zip(&theirs).chain(ours_t.iter().zip(&theirs_t)) {
        let scale = b.iter().map(|x| x.abs()).fold(0.0, f32::max);
        let d = max_abs_diff(a, b);
        assert!(d <= 1e-5 * scale.max(1.0), "max |Δ| {d} (scale {scale})");
        assert!(cosine(a, b) >= 0.999_999);
    }
}

#[test]
fn exif_orientation_is_applied() {
    // sample_data/animals/chelsea-sideways.jpg stores the cat rotated with EXIF
    // orientation 6; shown upright it is chelsea.jpg.
    let dir = repo_root().join("sample_data/animals");
    let upright = decode_file(&dir.join("chelsea.jpg")).unwrap();
    let sideways = decode_file(&dir.join("chelsea-sideways.jpg")).unwrap();
    assert_eq!(
        (upright.width(), upright.height()),
        (sideways.width(), sideways.height())
    );
    let model = golden_model();
    let e = model
        .embed_image_files(
            &[dir.join("chelsea.jpg"), dir.join("chelsea-sideways.jpg")],
            2,
        )
        .unwrap();
    let (a, b) = (e[0].as_ref().unwrap(), e[1].as_ref().unwrap());
    let rotated = to_rgb(sideways.rotate270()); // what ignoring EXIF would feed the model
    let wrong = scry::model::normalize(
        model
            .image_features(&[model.preprocessor().pixels(&rotated)])
            .unwrap()
            .remove(0),
    );
    println!(
        "upright vs oriented {:.4}, vs ignoring EXIF {:.4}",
        cosine(a, b),
        cosine(a, &wrong)
    );
    assert!(cosine(a, b) >= 0.99);
    assert!(cosine(a, b) > cosine(a, &wrong));
}

#[test]
fn an_empty_query_is_valid() {
    let e = golden_model().embed_texts(&[""]).unwrap();
    assert_eq!(e[0].len(), golden_model().dim());
    assert!(e[0].iter().all(|x| x.is_finite()));
}

#[test]
fn large_jpegs_are_decoded_scaled_without_changing_the_embedding() {
    // A 5-megapixel-class photo is decoded at 1/8..1/2 scale in the DCT domain,
    // keeping twice the short side asked for.
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.jpg");
    let src = to_rgb(decode_file(&repo_root().join("sample_data/animals/chelsea.jpg")).unwrap());
    let large = scry::preprocess::resize_rgb(&src, 2706, 1800);
    large.save(&big).unwrap();

    let model = golden_model();
    let size = model.preprocessor().resize_to;
    let scaled = scry::decode::decode_file_scaled(&big, Some(size)).unwrap();
    let short = scaled.width().min(scaled.height());
    assert!(
        short >= 2 * size && short < 1800 / 2,
        "decoded at {}x{}",
        scaled.width(),
        scaled.height()
    );

    let full = model
        .preprocessor()
        .pixels(&to_rgb(decode_file(&big).unwrap()));
    let fast = model.preprocessor().pixels_from_file(&big).unwrap();
    let e = model.embed_pixels(&[full, fast], 2).unwrap();
    let cos = cosine(&e[0], &e[1]);
    println!(
        "scaled decode ({}x{}) vs full: cosine {cos:.6}",
        scaled.width(),
        scaled.height()
    );
    assert!(cos >= 0.999, "{cos}");
}

/// A lossy WebP of `rgb`, encoded by libwebp.
fn lossy_webp(rgb: &image::RgbImage, quality: f32) -> Vec<u8> {
    let (w, h) = (rgb.width() as i32, rgb.height() as i32);
    let mut out = std::ptr::null_mut();
    // SAFETY: `rgb` holds h rows of 3w bytes; libwebp allocates `out`, freed below.
    unsafe {
        let n = libwebp_sys::WebPEncodeRGB(rgb.as_ptr(), w, h, 3 * w, quality, &mut out);
        assert!(n > 0, "libwebp encodes");
        let bytes = std::slice::from_raw_parts(out, n).to_vec();
        libwebp_sys::WebPFree(out.cast());
        bytes
    }
}

#[test]
fn large_webps_are_decoded_scaled_by_libwebp_without_changing_the_embedding() {
    let src = to_rgb(decode_file(&repo_root().join("sample_data/animals/chelsea.jpg")).unwrap());
    let large = scry::preprocess::resize_rgb(&src, 2706, 1800);
    let bytes = lossy_webp(&large, 90.0);

    // Full size: libwebp and the image crate's pure-Rust decoder agree.
    let ours = to_rgb(scry::decode::decode_bytes(&bytes).unwrap());
    let theirs = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(ours.dimensions(), (2706, 1800));
    let worst = ours
        .as_raw()
        .iter()
        .zip(theirs.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        worst <= 3,
        "libwebp and image-webp differ by {worst} levels"
    );

    // Scaled while decoding, with the full dimensions still reported.
    let model = golden_model();
    let min = model.preprocessor().decode_min_side();
    let d = scry::decode::decode_full(&bytes, Some(min)).unwrap();
    let short = d.image.width().min(d.image.height());
    assert!(short >= 2 * min && short <= 1800 / 2, "decoded at {short}");
    assert_eq!((d.width, d.height, d.format), (2706, 1800, "webp"));

    let full = model.preprocessor().pixels(&ours);
    let fast = model.preprocessor().pixels_from_bytes(&bytes).unwrap();
    let e = model.embed_pixels(&[full, fast], 2).unwrap();
    let cos = cosine(&e[0], &e[1]);
    println!("scaled WebP decode (short side {short}) vs full: cosine {cos:.6}");
    assert!(cos >= 0.999, "{cos}");

    // A truncated file is an error that says so, never a crash.
    let err = scry::decode::decode_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(err.contains("WebP"), "{err}");
}

#[test]
fn webps_with_exif_keep_their_rotation() {
    // A VP8X WebP with an EXIF chunk saying "rotate 90°" (orientation 6): libwebp
    // would ignore it, so such files take the image crate's path, which applies it.
    let src = to_rgb(decode_file(&repo_root().join("sample_data/animals/chelsea.jpg")).unwrap());
    let img = scry::preprocess::resize_rgb(&src, 300, 200);
    let simple = lossy_webp(&img, 90.0);
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec(); // header, IFD at 8, one entry
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]); // Orientation, SHORT, 1, = 6
    tiff.extend([0, 0, 0, 0]); // no next IFD
    let chunk = |tag: &[u8], data: &[u8]| {
        let mut c = tag.to_vec();
        c.extend((data.len() as u32).to_le_bytes());
        c.extend(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x08, 0, 0, 0];
    vp8x.extend(&(300u32 - 1).to_le_bytes()[..3]);
    vp8x.extend(&(200u32 - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend(&simple[12..]); // the VP8 chunk of the simple file
    body.extend(chunk(b"EXIF", &tiff));
    let mut file = b"RIFF".to_vec();
    file.extend((body.len() as u32).to_le_bytes());
    file.extend(body);

    let plain = scry::decode::decode_full(&simple, None).unwrap();
    assert_eq!((plain.width, plain.height), (300, 200));
    let rotated = scry::decode::decode_full(&file, None).unwrap();
    assert_eq!(
        (rotated.width, rotated.height),
        (200, 300),
        "orientation applied"
    );
    assert_eq!(rotated.format, "webp");
}
