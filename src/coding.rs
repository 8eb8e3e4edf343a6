//! Integer encodings shared by every on-disk format: LevelDB's fixed-width little-endian
//! integers, varints (7 bits a byte, high bit = "more follows") and length-prefixed slices.
//!
//! Decoders take untrusted bytes: each returns `None` on a truncated or over-long encoding and
//! never panics. On success they return the value and the number of bytes consumed.

/// Appends `v` as 4 little-endian bytes.
pub fn put_fixed32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as 8 little-endian bytes.
pub fn put_fixed64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Reads 4 little-endian bytes from the front of `input`.
pub fn decode_fixed32(input: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = input.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// Reads 8 little-endian bytes from the front of `input`.
pub fn decode_fixed64(input: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = input.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Appends `v` as a varint (1 to 5 bytes).
pub fn put_varint32(out: &mut Vec<u8>, v: u32) {
    put_varint64(out, u64::from(v));
}

/// Appends `v` as a varint (1 to 10 bytes).
pub fn put_varint64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v.to_le_bytes()[0] | 0x80);
        v >>= 7;
    }
    out.push(v.to_le_bytes()[0]);
}

/// The number of bytes [`put_varint64`] writes for `v`.
pub fn varint_length(mut v: u64) -> usize {
    let mut len = 1;
    while v >= 0x80 {
        v >>= 7;
        len += 1;
    }
    len
}

/// Decodes a varint32: `None` if truncated or if it does not fit 32 bits.
pub fn get_varint32(input: &[u8]) -> Option<(u32, usize)> {
    let (v, used) = get_varint(input, 5)?;
    Some((u32::try_from(v).ok()?, used))
}

/// Decodes a varint64: `None` if truncated or if it does not fit 64 bits.
pub fn get_varint64(input: &[u8]) -> Option<(u64, usize)> {
    get_varint(input, 10)
}

fn get_varint(input: &[u8], max_bytes: usize) -> Option<(u64, usize)> {
    let mut result: u64 = 0;
    for (i, &byte) in input.iter().take(max_bytes).enumerate() {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i;
        // The last byte of a varint64 may carry only one bit; anything more overflows.
        if shift == 63 && bits > 1 {
            return None;
        }
        result |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((result, i + 1));
        }
    }
    None
}

/// Appends `bytes` preceded by its length as a varint32. Panics only if `bytes` is 4 GiB or
/// longer, which every caller's own length checks exclude.
pub fn put_length_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("length-prefixed slices are shorter than 4 GiB");
    put_varint32(out, len);
    out.extend_from_slice(bytes);
}

/// Decodes a varint32 length and that many bytes: `(slice, bytes consumed)`.
pub fn get_length_prefixed(input: &[u8]) -> Option<(&[u8], usize)> {
    let (len, used) = get_varint32(input)?;
    let end = used.checked_add(usize::try_from(len).ok()?)?;
    Some((input.get(used..end)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_round_trip_little_endian() {
        let mut buf = Vec::new();
        put_fixed32(&mut buf, 0x0403_0201);
        put_fixed64(&mut buf, 0x0c0b_0a09_0807_0605);
        assert_eq!(buf, (1..=12).collect::<Vec<u8>>());
        assert_eq!(decode_fixed32(&buf), Some(0x0403_0201));
        assert_eq!(decode_fixed64(&buf[4..]), Some(0x0c0b_0a09_0807_0605));
        assert_eq!(decode_fixed32(&buf[..3]), None);
        assert_eq!(decode_fixed64(&buf[5..]), None);
    }

    #[test]
    fn varints_round_trip_at_every_length_boundary() {
        let mut values = vec![0u64, 1, u64::MAX];
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1]);
        }
        for v in values {
            let mut buf = Vec::new();
            put_varint64(&mut buf, v);
            assert_eq!(buf.len(), varint_length(v));
            assert_eq!(get_varint64(&buf), Some((v, buf.len())), "{v}");
            assert_eq!(get_varint64(&buf[..buf.len() - 1]), None, "truncated {v}");
            if let Ok(v32) = u32::try_from(v) {
                assert_eq!(get_varint32(&buf), Some((v32, buf.len())));
            } else {
                assert_eq!(get_varint32(&buf), None, "{v} does not fit 32 bits");
            }
        }
    }

    #[test]
    fn overlong_varints_are_rejected() {
        assert_eq!(get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x1f]), None);
        assert_eq!(get_varint32(&[0x80; 6]), None);
        assert_eq!(
            get_varint64(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()),
            None
        );
        assert_eq!(get_varint64(&[0x80; 11]), None);
    }

    #[test]
    fn length_prefixed_slices_check_their_length() {
        let mut buf = Vec::new();
        put_length_prefixed(&mut buf, b"hello");
        put_length_prefixed(&mut buf, b"");
        assert_eq!(get_length_prefixed(&buf), Some((&b"hello"[..], 6)));
        assert_eq!(get_length_prefixed(&buf[6..]), Some((&b""[..], 1)));
        assert_eq!(get_length_prefixed(&buf[..5]), None);
        assert_eq!(get_length_prefixed(&[0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }
}
