//! The protobuf wire format: reading tagged fields out of a byte slice and appending them to a buffer.

use crate::{Error, Result};

/// Wire type numbers from the protobuf encoding spec.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

/// One field value as it sits on the wire, before the schema gives it a meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

impl WireValue<'_> {
    pub(crate) fn wire_type(&self) -> u8 {
        match self {
            WireValue::Varint(_) => VARINT,
            WireValue::Fixed64(_) => FIXED64,
            WireValue::Len(_) => LEN,
            WireValue::Fixed32(_) => FIXED32,
        }
    }
}

/// Iterates over the `(field number, value)` pairs of one encoded message.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf }
    }

    fn next_field(&mut self) -> Result<(u32, WireValue<'a>)> {
        let key = read_varint(&mut self.buf)?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number out of range"))?;
        if number == 0 || number > 536_870_911 {
            return Err(malformed("field number out of range"));
        }
        let value = match (key & 7) as u8 {
            VARINT => WireValue::Varint(read_varint(&mut self.buf)?),
            FIXED64 => WireValue::Fixed64(u64::from_le_bytes(take::<8>(&mut self.buf)?)),
            LEN => {
                let len = usize::try_from(read_varint(&mut self.buf)?).map_err(|_| malformed("length overflows"))?;
                if len > self.buf.len() {
                    return Err(malformed("length-delimited field runs past the end of the message"));
                }
                let (value, rest) = self.buf.split_at(len);
                self.buf = rest;
                WireValue::Len(value)
            }
            FIXED32 => WireValue::Fixed32(u32::from_le_bytes(take::<4>(&mut self.buf)?)),
            other => return Err(malformed(&format!("unsupported wire type {other} for field {number}"))),
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, WireValue<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let item = self.next_field();
        if item.is_err() {
            // Stop after the first error: the rest of the buffer has no reliable framing.
            self.buf = &[];
        }
        Some(item)
    }
}

/// Reads a base-128 varint and advances `buf` past it.
pub(crate) fn read_varint(buf: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return Err(malformed("varint overflows 64 bits"));
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Ok(value);
        }
    }
    Err(malformed("truncated or overlong varint"))
}

fn take<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N]> {
    let Some((head, rest)) = buf.split_first_chunk::<N>() else {
        return Err(malformed("truncated fixed-width field"));
    };
    *buf = rest;
    Ok(*head)
}

fn malformed(what: &str) -> Error {
    Error::Malformed(what.to_owned())
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn put_key(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

pub(crate) fn put_varint_field(out: &mut Vec<u8>, number: u32, value: u64) {
    put_key(out, number, VARINT);
    put_varint(out, value);
}

pub(crate) fn put_len_field(out: &mut Vec<u8>, number: u32, value: &[u8]) {
    put_key(out, number, LEN);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX, (-1i64) as u64] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut slice = out.as_slice();
            assert_eq!(read_varint(&mut slice).unwrap(), v, "varint {v} should round-trip");
            assert!(slice.is_empty(), "varint {v} should consume all its bytes");
        }
    }

    #[test]
    fn truncated_and_overlong_input_is_an_error() {
        assert!(read_varint(&mut &[0x80u8][..]).is_err(), "a varint without its last byte is truncated");
        assert!(read_varint(&mut &[0xffu8; 11][..]).is_err(), "an 11-byte varint is overlong");
        let fields: Vec<_> = Fields::new(&[0x0a, 0x05, b'a']).collect();
        assert!(fields[0].is_err(), "a length past the end of the buffer is malformed");
        let fields: Vec<_> = Fields::new(&[0x0b]).collect();
        assert!(fields[0].is_err(), "group wire types are not used by Kubernetes and are rejected");
    }
}
