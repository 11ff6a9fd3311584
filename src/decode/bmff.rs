//! Boxes of the ISO base media file format (HEIF, AVIF, CR3, MP4, MOV): just
//! enough walking to tell brands apart and find the few boxes scry reads itself.
//! Every length is checked against the data: a hostile file ends the walk.

/// One box: its four-character type and its payload (after the header).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bx<'a> {
    pub kind: [u8; 4],
    pub body: &'a [u8],
    /// Offset of the payload within the data the walk started from.
    pub offset: usize,
}

/// The boxes laid end to end in `data`, stopping at the first malformed one.
pub(crate) fn boxes(data: &[u8]) -> impl Iterator<Item = Bx<'_>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let head = data.get(at..at + 8)?;
        let size32 = u32::from_be_bytes(head[0..4].try_into().unwrap()) as u64;
        let kind: [u8; 4] = head[4..8].try_into().unwrap();
        let (header, size) = match size32 {
            0 => (8u64, (data.len() - at) as u64), // to the end of the data
            1 => {
                let big = data.get(at + 8..at + 16)?;
                (16, u64::from_be_bytes(big.try_into().unwrap()))
            }
            n => (8, n),
        };
        if size < header || at as u64 + size > data.len() as u64 {
            // A truncated last box still yields what it has, so that a file cut
            // short inside `mdat` keeps its header boxes readable.
            if size >= header && at as u64 + header <= data.len() as u64 {
                let body = &data[at + header as usize..];
                let b = Bx {
                    kind,
                    body,
                    offset: at + header as usize,
                };
                at = data.len();
                return Some(b);
            }
            return None;
        }
        let start = at + header as usize;
        let end = at + size as usize;
        let b = Bx {
            kind,
            body: &data[start..end],
            offset: start,
        };
        at = end;
        Some(b)
    })
}

/// The first child of type `kind`.
pub(crate) fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<Bx<'a>> {
    boxes(data).find(|b| &b.kind == kind)
}

/// The brands of a file that starts with an `ftyp` box: the major brand first.
pub(crate) fn brands(data: &[u8]) -> Vec<[u8; 4]> {
    let Some(ftyp) = boxes(data).next().filter(|b| &b.kind == b"ftyp") else {
        return Vec::new();
    };
    let body = ftyp.body;
    let mut out = Vec::new();
    if let Some(major) = body.get(0..4) {
        out.push(major.try_into().unwrap());
    }
    // Skip the minor version; the compatible brands follow.
    let mut at = 8;
    while let Some(b) = body.get(at..at + 4) {
        out.push(b.try_into().unwrap());
        at += 4;
    }
    out
}

/// The property boxes of a HEIF file (`meta/iprp/ipco`): `irot`, `imir`, `ispe`…
pub(crate) fn heif_properties(data: &[u8]) -> Vec<[u8; 4]> {
    let Some(meta) = child(data, b"meta") else {
        return Vec::new();
    };
    // `meta` is a full box: version and flags come first.
    let Some(inner) = meta.body.get(4..) else {
        return Vec::new();
    };
    child(inner, b"iprp")
        .and_then(|iprp| child(iprp.body, b"ipco"))
        .map(|ipco| boxes(ipco.body).map(|b| b.kind).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn walks_brands_and_properties() {
        let mut ftyp = b"heic\0\0\0\0mif1heic".to_vec();
        ftyp = bx(b"ftyp", &ftyp);
        let ipco = bx(
            b"ipco",
            &[bx(b"ispe", &[0; 12]), bx(b"irot", &[1])].concat(),
        );
        let meta = bx(b"meta", &[vec![0; 4], bx(b"iprp", &ipco)].concat());
        let file = [ftyp, meta].concat();
        assert_eq!(brands(&file), vec![*b"heic", *b"mif1", *b"heic"]);
        assert_eq!(heif_properties(&file), vec![*b"ispe", *b"irot"]);
        // A length past the end yields what is there (a truncated file keeps its
        // header readable) and ends the walk; a length below the header stops it.
        let mut bad = file.clone();
        bad[3] = 0xFF;
        assert_eq!(brands(&bad)[0], *b"heic");
        assert_eq!(boxes(&bad).count(), 1);
        assert!(boxes(&[0, 0, 0, 4, b'x', b'x', b'x', b'x'])
            .next()
            .is_none());
    }
}
