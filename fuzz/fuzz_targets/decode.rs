//! Decode and preprocess: any bytes must give pixels or an error, never a panic,
//! an abort or unbounded memory (libFuzzer's -rss_limit_mb enforces the last).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pre = scry::Preprocessor::clip(224);
    if let Ok(pixels) = pre.pixels_from_bytes(data) {
        assert_eq!(pixels.len(), 3 * 224 * 224);
        assert!(pixels.iter().all(|v| v.is_finite()));
    }
});
