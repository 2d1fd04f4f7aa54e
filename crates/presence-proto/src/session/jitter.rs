//! A tiny deterministic jitter source, seeded by the caller (the core draws no randomness).

/// xorshift64*: plenty for spreading retries; not for anything security related.
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        // Zero is a fixed point of xorshift; move off it.
        Self(if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        })
    }

    /// A fraction in `[0.0, 1.0)`, for full jitter.
    pub(crate) fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 random bits
        bits as f64 / (1u64 << 53) as f64
    }
}
