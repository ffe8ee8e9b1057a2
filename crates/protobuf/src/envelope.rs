//! The frame around every Kubernetes protobuf body: the `k8s\0` magic and a `runtime.Unknown` message
//! `{typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4}` carrying the object.

use crate::wire::{Fields, WireValue, put_len_field};
use crate::{Error, MAGIC, Result};

#[derive(Debug)]
pub(crate) struct Unknown<'a> {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) raw: &'a [u8],
}

pub(crate) fn open(body: &[u8]) -> Result<Unknown<'_>> {
    let Some(message) = body.strip_prefix(&MAGIC) else { return Err(Error::NotProtobuf) };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in Fields::new(message) {
        match field? {
            (1, WireValue::Len(type_meta)) => {
                for field in Fields::new(type_meta) {
                    match field? {
                        (1, WireValue::Len(v)) => api_version = text(v, "apiVersion")?,
                        (2, WireValue::Len(k)) => kind = text(k, "kind")?,
                        _ => {}
                    }
                }
            }
            (2, WireValue::Len(r)) => raw = r,
            // The apiserver only ever sends these empty; a compressed or foreign payload is not supported.
            (3, WireValue::Len(encoding)) if !encoding.is_empty() => {
                return Err(Error::UnsupportedEncoding(format!(
                    "contentEncoding {}",
                    String::from_utf8_lossy(encoding)
                )));
            }
            (4, WireValue::Len(t)) if !t.is_empty() && t != crate::PROTOBUF_MEDIA_TYPE.as_bytes() => {
                return Err(Error::UnsupportedEncoding(format!("contentType {}", String::from_utf8_lossy(t))));
            }
            (1..=4, WireValue::Len(_)) => {}
            (number @ 1..=4, _) => {
                return Err(Error::Malformed(format!("runtime.Unknown field {number} is not bytes")));
            }
            _ => {}
        }
    }
    if api_version.is_empty() || kind.is_empty() {
        return Err(Error::MissingTypeMeta);
    }
    Ok(Unknown { api_version, kind, raw })
}

/// Wraps an encoded object as the apiserver does, writing every field of `runtime.Unknown` as Go does.
pub(crate) fn seal(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::with_capacity(api_version.len() + kind.len() + 4);
    put_len_field(&mut type_meta, 1, api_version.as_bytes());
    put_len_field(&mut type_meta, 2, kind.as_bytes());
    let mut out = Vec::with_capacity(raw.len() + type_meta.len() + 16);
    out.extend_from_slice(&MAGIC);
    put_len_field(&mut out, 1, &type_meta);
    put_len_field(&mut out, 2, raw);
    put_len_field(&mut out, 3, b"");
    put_len_field(&mut out, 4, b"");
    out
}

fn text(bytes: &[u8], what: &str) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Malformed(format!("{what} is not UTF-8")))
}
