//! `scry search --preview`: thumbnails inline in terminals that show pictures,
//! as rclip does — the kitty graphics protocol, iTerm2's inline images, or
//! sixel (encoded by icy_sixel) — and nothing at all elsewhere.
//!
//! The protocol comes from the environment the terminal sets (`TERM`,
//! `TERM_PROGRAM`, `KITTY_WINDOW_ID`, `LC_TERMINAL`), and only when standard
//! output is that terminal; `SCRY_PREVIEW=kitty|iterm|sixel|none` overrides it
//! (for terminals that do not say what they are, and through pipes).

use std::io::{IsTerminal, Write};

use base64::Engine;

/// How pictures reach the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Kitty,
    Iterm,
    Sixel,
}

/// Columns a preview is wide.
const COLUMNS: u32 = 16;
/// Pixels a sixel preview is wide (sixel has no notion of columns).
const SIXEL_WIDTH: u32 = 160;

/// The protocol this terminal speaks, if any.
pub fn detect() -> Option<Protocol> {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    match var("SCRY_PREVIEW").to_lowercase().as_str() {
        "kitty" => return Some(Protocol::Kitty),
        "iterm" | "iterm2" => return Some(Protocol::Iterm),
        "sixel" => return Some(Protocol::Sixel),
        "none" | "off" => return None,
        _ => {}
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    from_env(
        &var("TERM"),
        &var("TERM_PROGRAM"),
        &var("LC_TERMINAL"),
        std::env::var_os("KITTY_WINDOW_ID").is_some(),
    )
}

/// The protocol named by a terminal's environment.
pub fn from_env(
    term: &str,
    program: &str,
    lc_terminal: &str,
    kitty_window: bool,
) -> Option<Protocol> {
    let term = term.to_lowercase();
    let program = program.to_lowercase();
    if kitty_window || term.contains("kitty") || program == "ghostty" || term.contains("ghostty") {
        Some(Protocol::Kitty)
    } else if program == "iterm.app" || program == "wezterm" || lc_terminal == "iTerm2" {
        Some(Protocol::Iterm)
    } else if term.contains("sixel")
        || ["foot", "mlterm", "yaft", "contour"]
            .iter()
            .any(|t| term.starts_with(t) || program == *t)
    {
        Some(Protocol::Sixel)
    } else {
        None
    }
}

/// Writes a JPEG thumbnail as an inline picture, then a new line.
pub fn show(out: &mut impl Write, protocol: Protocol, jpeg: &[u8]) -> anyhow::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match protocol {
        Protocol::Iterm => {
            write!(
                out,
                "\x1b]1337;File=inline=1;size={};width={COLUMNS};preserveAspectRatio=1:{}\x07",
                jpeg.len(),
                b64.encode(jpeg)
            )?;
        }
        Protocol::Kitty => {
            // kitty reads PNG (f=100); the data goes in chunks of 4096.
            let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?;
            let mut png = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
            let data = b64.encode(&png);
            let chunks: Vec<&[u8]> = data.as_bytes().chunks(4096).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let more = u8::from(i + 1 < chunks.len());
                let head = if i == 0 {
                    format!("a=T,f=100,c={COLUMNS},m={more}")
                } else {
                    format!("m={more}")
                };
                write!(out, "\x1b_G{head};")?;
                out.write_all(chunk)?;
                write!(out, "\x1b\\")?;
            }
        }
        Protocol::Sixel => {
            let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?;
            let img = img.resize(
                SIXEL_WIDTH,
                SIXEL_WIDTH,
                image::imageops::FilterType::Triangle,
            );
            let rgb = img.to_rgb8();
            let sixel = icy_sixel::sixel_string(
                rgb.as_raw(),
                rgb.width() as i32,
                rgb.height() as i32,
                icy_sixel::PixelFormat::RGB888,
                icy_sixel::DiffusionMethod::Stucki,
                icy_sixel::MethodForLargest::Auto,
                icy_sixel::MethodForRep::Auto,
                icy_sixel::Quality::HIGH,
            )
            .map_err(|e| anyhow::anyhow!("sixel: {e}"))?;
            out.write_all(sixel.as_bytes())?;
        }
    }
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminals_are_recognised_by_what_they_set() {
        assert_eq!(
            from_env("xterm-kitty", "", "", false),
            Some(Protocol::Kitty)
        );
        assert_eq!(
            from_env("xterm-256color", "", "", true),
            Some(Protocol::Kitty)
        );
        assert_eq!(
            from_env("xterm-ghostty", "ghostty", "", false),
            Some(Protocol::Kitty)
        );
        assert_eq!(
            from_env("xterm-256color", "iTerm.app", "", false),
            Some(Protocol::Iterm)
        );
        assert_eq!(
            from_env("screen", "", "iTerm2", false),
            Some(Protocol::Iterm)
        );
        assert_eq!(
            from_env("xterm-256color", "WezTerm", "", false),
            Some(Protocol::Iterm)
        );
        assert_eq!(from_env("foot", "", "", false), Some(Protocol::Sixel));
        assert_eq!(from_env("mlterm", "", "", false), Some(Protocol::Sixel));
        assert_eq!(
            from_env("xterm-sixel", "", "", false),
            Some(Protocol::Sixel)
        );
        assert_eq!(
            from_env("xterm-256color", "Apple_Terminal", "", false),
            None
        );
        assert_eq!(from_env("linux", "", "", false), None);
        assert_eq!(from_env("", "", "", false), None);
    }
}
