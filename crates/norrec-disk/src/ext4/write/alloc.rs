//! The block allocation map of the file system being built, held in memory (one bit per
//! block: 32 KiB per GiB at 4 KiB blocks). Everything is allocated here before the first write.

/// One bit per block; set = in use.
#[derive(Debug, Clone)]
pub struct BlockMap {
    bits: Vec<u64>,
    len: u64,
    used: u64,
    cursor: u64,
}

/// Longest extent ext4 stores for initialised data.
pub const MAX_RUN: u32 = 32768;

impl BlockMap {
    /// A map of `len` blocks, all free.
    pub fn new(len: u64) -> Self {
        BlockMap {
            bits: vec![0; len.div_ceil(64) as usize],
            len,
            used: 0,
            cursor: 0,
        }
    }

    pub fn free(&self) -> u64 {
        self.len - self.used
    }

    pub fn is_used(&self, b: u64) -> bool {
        self.bits[(b / 64) as usize] >> (b % 64) & 1 != 0
    }

    /// Marks `n` blocks from `start` used (they must be free).
    pub fn mark(&mut self, start: u64, n: u64) {
        debug_assert_eq!(
            self.used_in(start, n),
            0,
            "blocks {start}+{n} allocated twice"
        );
        let mut b = start;
        let end = start + n;
        while b < end {
            let bit = b % 64;
            let take = (64 - bit).min(end - b);
            let mask = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << bit
            };
            self.bits[(b / 64) as usize] |= mask;
            b += take;
        }
        self.used += n;
    }

    /// The first free block at or after `from`, if any.
    fn next_free(&self, from: u64) -> Option<u64> {
        let mut b = from;
        while b < self.len {
            let w = self.bits[(b / 64) as usize] >> (b % 64);
            if w == u64::MAX >> (b % 64) {
                b = (b / 64 + 1) * 64;
                continue;
            }
            let b2 = b + u64::from((!w).trailing_zeros());
            return (b2 < self.len).then_some(b2);
        }
        None
    }

    /// Length of the free run starting at `b`, up to `max`.
    fn run_len(&self, b: u64, max: u64) -> u64 {
        let mut n = 0;
        while n < max && b + n < self.len && !self.is_used(b + n) {
            n += 1;
        }
        n
    }

    /// `n` contiguous free blocks, the first such run at or after `goal`; marks them used.
    pub fn alloc_contig(&mut self, goal: u64, n: u64) -> Option<u64> {
        let mut b = goal;
        loop {
            b = self.next_free(b)?;
            let r = self.run_len(b, n);
            if r == n {
                self.mark(b, n);
                return Some(b);
            }
            b += r;
        }
    }

    /// Moves the next-fit cursor (where [`BlockMap::alloc`] looks first).
    pub fn set_cursor(&mut self, b: u64) {
        self.cursor = b.min(self.len);
    }

    /// `n` blocks as runs of at most [`MAX_RUN`], next-fit from the cursor (wrapping once);
    /// `None` (and nothing marked) when fewer than `n` are free.
    pub fn alloc(&mut self, n: u64) -> Option<Vec<(u64, u32)>> {
        if n > self.free() {
            return None;
        }
        let mut runs: Vec<(u64, u32)> = Vec::new();
        let mut left = n;
        let mut b = self.cursor;
        let mut wrapped = false;
        while left > 0 {
            let Some(f) = self.next_free(b) else {
                if wrapped {
                    unreachable!("free count says {left} more blocks exist");
                }
                wrapped = true;
                b = 0;
                continue;
            };
            let r = self.run_len(f, left.min(u64::from(MAX_RUN)));
            self.mark(f, r);
            match runs.last_mut() {
                Some((s, l)) if *s + u64::from(*l) == f && *l as u64 + r <= u64::from(MAX_RUN) => {
                    *l += r as u32
                }
                _ => runs.push((f, r as u32)),
            }
            left -= r;
            b = f + r;
        }
        self.cursor = b;
        Some(runs)
    }

    /// Copies the bits of blocks `start..start+n` into `out` (bit i of `out` = block start+i).
    pub fn copy_bits(&self, start: u64, n: u64, out: &mut [u8]) {
        if start % 8 == 0 {
            // Whole bytes: the map is little-endian bit order like the on-disk bitmap.
            let full = (n / 8) as usize;
            for (i, o) in out[..full].iter_mut().enumerate() {
                let b = start + 8 * i as u64;
                *o = (self.bits[(b / 64) as usize] >> (b % 64)) as u8;
            }
            for i in (full as u64) * 8..n {
                if self.is_used(start + i) {
                    out[(i / 8) as usize] |= 1 << (i % 8);
                }
            }
            return;
        }
        for i in 0..n {
            if self.is_used(start + i) {
                out[(i / 8) as usize] |= 1 << (i % 8);
            }
        }
    }

    /// Used blocks in `start..start+n`.
    pub fn used_in(&self, start: u64, n: u64) -> u64 {
        let mut b = start;
        let end = start + n;
        let mut count = 0u64;
        while b < end {
            let bit = b % 64;
            let take = (64 - bit).min(end - b);
            let mask = if take == 64 {
                u64::MAX
            } else {
                ((1u64 << take) - 1) << bit
            };
            count += u64::from((self.bits[(b / 64) as usize] & mask).count_ones());
            b += take;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_fit_and_contig() {
        let mut m = BlockMap::new(200);
        m.mark(0, 10);
        m.mark(70, 5);
        assert_eq!(m.alloc_contig(0, 60), Some(10));
        assert_eq!(m.alloc_contig(0, 10), Some(75));
        m.set_cursor(0);
        let r = m.alloc(20).unwrap();
        assert_eq!(r, vec![(85, 20)]);
        assert_eq!(m.free(), 200 - 10 - 5 - 60 - 10 - 20);
        assert!(m.alloc(1000).is_none());
        let r = m.alloc(m.free()).unwrap();
        assert_eq!(r, vec![(105, 95)]);
        assert_eq!(m.free(), 0);
    }

    #[test]
    fn word_ops_agree_with_bits() {
        let mut m = BlockMap::new(1000);
        m.mark(3, 200);
        m.mark(250, 64);
        m.mark(999, 1);
        assert_eq!(m.used_in(0, 1000), 265);
        assert_eq!(m.used_in(5, 10), 10);
        assert_eq!(m.used_in(200, 100), 3 + 50);
        let mut out = [0u8; 125];
        m.copy_bits(0, 1000, &mut out);
        for b in 0..1000u64 {
            assert_eq!(
                out[(b / 8) as usize] >> (b % 8) & 1 != 0,
                m.is_used(b),
                "{b}"
            );
        }
    }
}
