//! A per-thread latency histogram in nanoseconds: log-linear buckets (64 per power of two, so
//! a reported percentile is within about 1.6 % of the true sample). Each thread records into its
//! own copy without atomics; the copies are merged after the run.

// Bucket arithmetic converts between small integers: indices stay below `BUCKETS` (3776) and a
// shifted sample below 2^7, so none of these casts can truncate.
#![allow(clippy::cast_possible_truncation)]

/// Values below this get a bucket each.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above `LINEAR`.
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// 128 linear buckets, then 64 for each of the powers 2^7 ..= 2^63.
const BUCKETS: usize = LINEAR as usize + (64 - 7) * SUB;

fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // >= 7
    let sub = ((v >> (msb - SUB_BITS)) as usize) & (SUB - 1);
    LINEAR as usize + (msb as usize - 7) * SUB + sub
}

/// The smallest value that falls into bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    if b < LINEAR as usize {
        return b as u64;
    }
    let msb = ((b - LINEAR as usize) / SUB + 7) as u32;
    let sub = ((b - LINEAR as usize) % SUB) as u64;
    (1u64 << msb) | (sub << (msb - SUB_BITS))
}

#[derive(Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            buckets: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.buckets[bucket_of(nanos)] += 1;
        self.count += 1;
        self.sum += u128::from(nanos);
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `p`th percentile (0 < p <= 100): the middle of the bucket holding that rank,
    /// clamped to the smallest and largest samples seen.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (b, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if c > 0 && seen >= rank {
                let lo = bucket_floor(b) as f64;
                let hi = if b + 1 < BUCKETS {
                    bucket_floor(b + 1) as f64
                } else {
                    self.max as f64
                };
                return ((lo + hi) / 2.0).clamp(self.min as f64, self.max as f64);
            }
        }
        self.max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_partition_the_range() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            200,
            255,
            256,
            1000,
            123_456_789,
            u64::MAX,
        ] {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS, "{v} -> {b}");
            assert!(bucket_floor(b) <= v);
            if b + 1 < BUCKETS {
                assert!(bucket_floor(b + 1) > v, "{v} -> {b}");
            }
            last = b;
        }
    }

    #[test]
    fn percentiles_are_within_two_percent() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (p, want) in [(50.0, 500_000.0), (99.0, 990_000.0), (99.9, 999_000.0)] {
            let got = h.percentile(p);
            assert!((got - want).abs() / want < 0.02, "p{p}: {got} vs {want}");
        }
        let mut other = Histogram::new();
        other.record(5_000_000);
        h.merge(&other);
        assert_eq!((h.count(), h.max()), (100_001, 5_000_000));
        assert_eq!(h.percentile(100.0), 5_000_000.0);
    }
}
