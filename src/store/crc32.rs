//! CRC-32, the checksum every log record carries.
//!
//! This is the CRC-32 of zlib, gzip, PNG and Ethernet (ISO-HDLC): the
//! polynomial 0x04C11DB7, processed bit-reversed as 0xEDB88320, with the
//! register starting at all ones and inverted at the end. Known answer:
//! `crc32(b"123456789") == 0xCBF43926`.
//!
//! It is computed a byte at a time from a 256-entry table built at compile
//! time: for each possible byte, the effect of shifting it through the
//! register eight times. It catches every burst of errors up to 32 bits
//! long (a flipped bit or byte), and misses other damage, such as the
//! garbage a torn write leaves, once in 2^32 times.

/// The bit-reversed polynomial.
const POLYNOMIAL: u32 = 0xEDB8_8320;

/// `TABLE[b]` is the register after eight shifts of the byte `b`.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn known_answers() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let data = b"a log record, more or less".to_vec();
        let good = crc32(&data);
        for index in 0..data.len() {
            for bit in 0..8 {
                let mut flipped = data.clone();
                flipped[index] ^= 1 << bit;
                assert_ne!(crc32(&flipped), good);
            }
        }
    }
}
