//! A small, fast hasher for the per-record lookups of the hot path.
//!
//! The standard SipHash resists crafted collisions, which is worth little
//! here (the data comes from the operator's own files, and the worst a
//! crafted file can do is slow its own run) and costs as much per record as
//! the lookup itself. This is the multiply-rotate hash rustc uses (FxHash).

use std::hash::{BuildHasherDefault, Hasher};

/// Builds [`FxHasher`]s for `HashMap`s on the hot path.
pub(crate) type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// FxHash: one rotate, xor and multiply per word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Byte by byte: a copy into a zeroed array compiles to a `memcpy`
            // call and a stalled reload, slower than the hashing itself.
            let word = (rest.iter().rev()).fold(0, |word, &b| (word << 8) | u64::from(b));
            self.add(word);
        }
        // Zero padding alone would make "a" and "a\0" the same words.
        self.add(bytes.len() as u64);
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Hashes a `u64` that is already a hash as itself (for maps keyed by one).
#[derive(Default, Clone, Copy)]
pub(crate) struct PrehashedHasher {
    hash: u64,
}

/// Builds [`PrehashedHasher`]s.
pub(crate) type PrehashedBuildHasher = BuildHasherDefault<PrehashedHasher>;

impl Hasher for PrehashedHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are expected; anything else still hashes, just poorly.
        for &b in bytes {
            self.hash = (self.hash.rotate_left(8) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.hash = i;
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_input_equal_hash_and_bytes_matter() {
        let hash = |text: &str| FxBuildHasher::default().hash_one(text);
        assert_eq!(hash("courseid"), hash("courseid"));
        assert_ne!(hash("courseid"), hash("courseie"));
        assert_ne!(hash("a"), hash("a\0"));
    }
}
