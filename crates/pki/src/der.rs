//! Just enough DER to splice names into a certificate and wrap legacy private keys in PKCS#8.

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_UTF8_STRING: u8 = 0x0c;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;
/// `[0]` constructed, context-specific: the certificate version and SEC1's curve parameters.
pub(crate) const TAG_CONTEXT_0: u8 = 0xa0;

/// One decoded tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    /// The whole element, header included.
    pub(crate) raw: &'a [u8],
}

/// Reads one element from the front of `input`, returning it and the rest.
///
/// Only single-byte tags and definite lengths of up to four bytes are accepted, which covers
/// every structure this crate looks into.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let header_len = input.len() - rest.len();
    let (contents, rest) = rest.split_at(len);
    Some((Tlv { tag, contents, raw: &input[..header_len + len] }, rest))
}

/// Splits the contents of a constructed element into its children.
pub(crate) fn children(mut contents: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (tlv, rest) = read(contents)?;
        out.push(tlv);
        contents = rest;
    }
    Some(out)
}

/// Encodes one element.
pub(crate) fn encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Encodes a constructed element from already-encoded children.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    encode(tag, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let contents = vec![0xab; len];
            let encoded = encode(TAG_OCTET_STRING, &contents);
            let (tlv, rest) = read(&encoded).expect("encoded element should decode");
            assert!(rest.is_empty(), "nothing should follow a single element");
            assert_eq!(tlv.tag, TAG_OCTET_STRING);
            assert_eq!(tlv.contents.len(), len, "length {len} should survive the round trip");
            assert_eq!(tlv.raw, &encoded[..]);
        }
    }

    #[test]
    fn truncated_input_is_rejected() {
        let encoded = encode(TAG_SEQUENCE, &[1, 2, 3]);
        assert!(read(&encoded[..encoded.len() - 1]).is_none(), "a short element must not decode");
        assert!(read(&[0x30, 0x80]).is_none(), "indefinite lengths are not DER");
    }

    #[test]
    fn children_splits_a_sequence() {
        let a = encode(TAG_INTEGER, &[1]);
        let b = encode(0x05, &[]);
        let seq = constructed(TAG_SEQUENCE, &[&a, &b]);
        let (outer, _) = read(&seq).unwrap();
        let kids = children(outer.contents).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].raw, &a[..]);
        assert_eq!(kids[1].tag, 0x05);
    }
}
