//! Photo metadata from EXIF (the only module that names kamadak-exif): capture
//! date, camera and GPS position, for filters and keyword search.

use std::io::Cursor;

/// What scry keeps from a photo's EXIF block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoMetadata {
    /// DateTimeOriginal (else DateTime), seconds since the epoch, civil time as UTC.
    pub taken: Option<i64>,
    /// "Make Model", de-duplicated ("Canon Canon EOS 5D" → "Canon EOS 5D").
    pub camera: Option<String>,
    /// GPSLatitude/GPSLongitude with their N/S and E/W references.
    pub gps: Option<crate::places::Gps>,
}

/// Reads EXIF from JPEG, TIFF, PNG, WebP or HEIF bytes; missing or broken EXIF
/// gives empty metadata, never an error (the image itself may be fine).
pub fn read(bytes: &[u8]) -> PhotoMetadata {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return PhotoMetadata::default();
    };
    let text = |tag: exif::Tag| -> Option<String> {
        let f = exif.get_field(tag, exif::In::PRIMARY)?;
        match &f.value {
            exif::Value::Ascii(parts) => parts
                .first()
                .map(|p| {
                    String::from_utf8_lossy(p)
                        .trim()
                        .trim_end_matches('\0')
                        .to_string()
                })
                .filter(|s| !s.is_empty()),
            _ => None,
        }
    };
    let taken = text(exif::Tag::DateTimeOriginal)
        .or_else(|| text(exif::Tag::DateTime))
        .and_then(|s| crate::dates::parse_exif_datetime(&s));
    let camera = match (text(exif::Tag::Make), text(exif::Tag::Model)) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(model)
        }
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.or(model),
    };
    PhotoMetadata {
        taken,
        camera,
        gps: gps(&exif),
    }
}

/// The GPS position of an EXIF block: degrees, minutes and seconds as three
/// rationals, negated for S and W.
fn gps(exif: &exif::Exif) -> Option<crate::places::Gps> {
    let angle = |tag: exif::Tag| -> Option<f64> {
        match &exif.get_field(tag, exif::In::PRIMARY)?.value {
            exif::Value::Rational(r) if !r.is_empty() => {
                let part = |i: usize| r.get(i).filter(|x| x.denom != 0).map(|x| x.to_f64());
                Some(part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0)
            }
            _ => None,
        }
    };
    let negative = |tag: exif::Tag, neg: u8| -> bool {
        exif.get_field(tag, exif::In::PRIMARY)
            .is_some_and(|f| match &f.value {
                exif::Value::Ascii(parts) => parts
                    .first()
                    .and_then(|p| p.first())
                    .is_some_and(|c| c.to_ascii_uppercase() == neg),
                _ => false,
            })
    };
    let mut lat = angle(exif::Tag::GPSLatitude)?;
    let mut lon = angle(exif::Tag::GPSLongitude)?;
    if negative(exif::Tag::GPSLatitudeRef, b'S') {
        lat = -lat;
    }
    if negative(exif::Tag::GPSLongitudeRef, b'W') {
        lon = -lon;
    }
    crate::places::Gps::new(lat, lon)
}

/// The EXIF orientation of a file whose format keeps it in an EXIF block (JPEG,
/// TIFF, HEIF, PNG, WebP): `None` without one.
pub fn orientation(bytes: &[u8]) -> Option<image::metadata::Orientation> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    exif_orientation(&exif)
}

/// The orientation in a bare TIFF-structured EXIF block (as camera RAW files and
/// CR3's `CMT1` box hold it).
pub fn orientation_of_tiff(tiff: &[u8]) -> Option<image::metadata::Orientation> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    exif_orientation(&exif)
}

fn exif_orientation(exif: &exif::Exif) -> Option<image::metadata::Orientation> {
    let v = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)?
        .value
        .get_uint(0)?;
    image::metadata::Orientation::from_exif(u8::try_from(v).ok()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_sample_photo() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sample_data/animals/chelsea-sideways.jpg"
        ))
        .unwrap();
        let m = super::read(&bytes);
        assert_eq!(m.camera.as_deref(), Some("scry Sample Camera"));
        assert_eq!(
            m.taken.map(crate::dates::format_datetime).as_deref(),
            Some("2019-07-14T18:30:00")
        );
        assert_eq!(
            super::read(b"not an image"),
            super::PhotoMetadata::default()
        );
    }
}
