//! The transmit queue: whole frames appended into a fixed buffer, drained by the host in any
//! amounts.
//!
//! A frame is appended only if it fits entirely, so the peer never sees half a frame followed
//! by another.

use crate::wire::frame::BuildError;

/// A fixed-capacity byte queue of complete frames over a byte buffer (an array, or memory the
/// host lent).
#[derive(Debug, Clone)]
pub struct TxQueue<B> {
    buf: B,
    start: usize,
    end: usize,
    /// After a key exchange, the sending cipher: every frame queued is sealed in place.
    #[cfg(feature = "fpnn-encryption")]
    seal: super::encryption::Slot<super::encryption::Sealer>,
    /// `seal`'s prefix length (0 without one), kept beside it so that [`TxQueue::fits`], on
    /// every push's path, is a plain subtraction (zero bytes: no sealer, no prefix). Speed
    /// builds only: size builds read it from `seal`.
    #[cfg(all(feature = "fpnn-encryption", not(rtm_opt_size)))]
    prefix: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> TxQueue<B> {
    /// An empty queue in `buf`.
    pub const fn new(buf: B) -> Self {
        Self {
            buf,
            start: 0,
            end: 0,
            #[cfg(feature = "fpnn-encryption")]
            seal: super::encryption::Slot::Empty,
            #[cfg(all(feature = "fpnn-encryption", not(rtm_opt_size)))]
            prefix: 0,
        }
    }

    /// Seals every frame queued from now on with `seal` (`None`: plaintext).
    #[cfg(feature = "fpnn-encryption")]
    pub(crate) fn set_seal(&mut self, seal: Option<super::encryption::Sealer>) {
        #[cfg(not(rtm_opt_size))]
        {
            self.prefix = seal
                .as_ref()
                .map_or(0, super::encryption::Sealer::prefix_len);
        }
        self.seal = seal.into();
    }

    /// Bytes written in front of each frame (the package length when sealing in package mode).
    #[cfg(all(feature = "fpnn-encryption", not(rtm_opt_size)))]
    #[inline(always)]
    fn prefix_len(&self) -> usize {
        self.prefix
    }

    /// Bytes written in front of each frame (size builds: from the sealer).
    #[cfg(all(feature = "fpnn-encryption", rtm_opt_size))]
    fn prefix_len(&self) -> usize {
        self.seal
            .get()
            .map_or(0, super::encryption::Sealer::prefix_len)
    }

    /// Bytes written in front of each frame: none without encryption.
    #[cfg(not(feature = "fpnn-encryption"))]
    #[inline(always)]
    fn prefix_len(&self) -> usize {
        0
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Bytes waiting to be sent.
    pub fn data(&self) -> &[u8] {
        self.buf.as_ref().get(self.start..self.end).unwrap_or(&[])
    }

    /// Where the bytes waiting to be sent start, and how many there are: [`TxQueue::data`]
    /// without making the slice (for a C ABI, which hands out the two).
    #[inline]
    pub fn data_parts(&self) -> (*const u8, usize) {
        // `start <= end <= capacity` always holds, so the pointer stays in the buffer.
        (
            self.buf.as_ref().as_ptr().wrapping_add(self.start),
            self.end - self.start,
        )
    }

    /// How many bytes wait to be sent.
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Marks `n` bytes as sent (clamped to what is queued).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Space a new frame may use now (what it is sealed with excluded).
    #[cfg_attr(all(not(feature = "wukong"), not(rtm_opt_size)), allow(dead_code))]
    pub fn room(&self) -> usize {
        (self.capacity() - (self.end - self.start)).saturating_sub(self.prefix_len())
    }

    /// Whether a new frame of `n` bytes (`n > 0`) fits now: [`TxQueue::room`] `>= n`, without
    /// the saturation (one compare on every push's path).
    #[inline]
    #[cfg_attr(rtm_opt_size, allow(dead_code))]
    pub fn fits(&self, n: usize) -> bool {
        // `end - start <= capacity` always holds, and `n` and the prefix are small.
        self.capacity() - (self.end - self.start) >= n + self.prefix_len()
    }

    /// Drops everything, and the sending cipher (the connection is gone).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        #[cfg(feature = "fpnn-encryption")]
        {
            self.seal = super::encryption::Slot::Empty;
            #[cfg(not(rtm_opt_size))]
            {
                self.prefix = 0;
            }
        }
    }

    /// Appends one frame written by `build`, which receives the free space and returns the
    /// frame's length or [`BuildError::BufferTooSmall`] without writing. Nothing is appended on
    /// error.
    ///
    /// In size builds (`rtm_opt_size`) `build` is called through `dyn`, so one copy of this
    /// serves every kind of frame.
    #[inline]
    pub fn push(
        &mut self,
        mut build: impl FnMut(&mut [u8]) -> Result<usize, BuildError>,
    ) -> Result<usize, BuildError> {
        #[cfg(rtm_opt_size)]
        let build: &mut dyn FnMut(&mut [u8]) -> Result<usize, BuildError> = &mut build;
        #[cfg(not(rtm_opt_size))]
        let build = &mut build;
        self.push_with(build)
    }

    /// Queues `bytes` (a whole frame) if they fit; `false`, and nothing queued, if not.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub fn push_array<const N: usize>(&mut self, bytes: [u8; N]) -> bool {
        if self.start > 0 {
            crate::shift::move_down(self.buf.as_mut(), self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let end = self.end;
        #[cfg(feature = "fpnn-encryption")]
        if let Some(seal) = self.seal.get_mut() {
            // The prefix (package mode), the frame, then both sealed where they lie.
            let prefix = seal.prefix_len();
            let Some(dst) = self
                .buf
                .as_mut()
                .get_mut(end..)
                .and_then(|f| f.get_mut(..prefix + N))
            else {
                return false;
            };
            if let Some(frame) = dst.get_mut(prefix..) {
                frame.copy_from_slice(&bytes);
            }
            seal.seal(dst);
            self.end = end + prefix + N;
            return true;
        }
        match self
            .buf
            .as_mut()
            .get_mut(end..)
            .and_then(|free| free.first_chunk_mut::<N>())
        {
            Some(dst) => {
                *dst = bytes;
                self.end = end + N;
                true
            }
            None => false,
        }
    }

    #[cfg_attr(not(rtm_opt_size), inline(always))]
    fn push_with<F>(&mut self, build: &mut F) -> Result<usize, BuildError>
    where
        F: FnMut(&mut [u8]) -> Result<usize, BuildError> + ?Sized,
    {
        if self.start > 0 {
            crate::shift::move_down(self.buf.as_mut(), self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let limit = self.capacity();
        let free = self
            .buf
            .as_mut()
            .get_mut(self.end..limit)
            .unwrap_or(&mut []);
        #[cfg(feature = "fpnn-encryption")]
        if let Some(seal) = self.seal.get_mut() {
            // The frame is built after its prefix, then sealed where it lies.
            let prefix = seal.prefix_len();
            let n = match free.get_mut(prefix..) {
                Some(body) => build(body).map_err(|e| match e {
                    BuildError::BufferTooSmall { needed } => BuildError::BufferTooSmall {
                        needed: needed + prefix,
                    },
                    other => other,
                })?,
                None => return Err(BuildError::BufferTooSmall { needed: prefix + 1 }),
            };
            if let Some(sealed) = free.get_mut(..prefix + n) {
                seal.seal(sealed);
            }
            self.end += prefix + n;
            return Ok(prefix + n);
        }
        let n = build(free)?;
        self.end += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtm::answer::build_empty_answer;

    #[test]
    fn fits_is_room_at_least() {
        let mut q = TxQueue::new([0u8; 40]);
        for step in 0..6 {
            for n in 1..=42 {
                assert_eq!(q.fits(n), q.room() >= n, "step {step}, n {n}");
            }
            if step % 2 == 0 {
                let _ = q.push(|b| build_empty_answer(b, step));
            } else {
                q.consume(5);
            }
        }
    }

    #[test]
    fn frames_are_whole() {
        let mut q = TxQueue::new([0u8; 40]);
        assert_eq!(q.push(|b| build_empty_answer(b, 1)), Ok(17));
        assert_eq!(q.push(|b| build_empty_answer(b, 2)), Ok(17));
        // 40 - 34 queued = 6: no room for another answer.
        assert_eq!(
            q.push(|b| build_empty_answer(b, 3)),
            Err(BuildError::BufferTooSmall { needed: 17 })
        );
        q.consume(27);
        assert_eq!(q.data().len(), 7);
        assert_eq!(q.push(|b| build_empty_answer(b, 4)), Ok(17));
        assert_eq!(q.data().len(), 24);
        assert_eq!(&q.data()[7..11], b"FPNN");
    }

    #[test]
    fn arrays_are_queued_whole_or_not_at_all() {
        let mut q = TxQueue::new([0u8; 40]);
        let a = crate::rtm::answer::empty_answer(7);
        let mut built = [0u8; 17];
        assert_eq!(build_empty_answer(&mut built, 7), Ok(17));
        assert_eq!(a, built);
        assert!(q.push_array(a));
        assert!(q.push_array(a));
        assert!(!q.push_array(a));
        assert_eq!(q.data().len(), 34);
        q.consume(20);
        // The rest moves to the front, and the array goes after it.
        assert!(q.push_array(crate::rtm::answer::empty_answer(8)));
        assert_eq!(q.data().len(), 31);
        assert_eq!(&q.data()[14..18], b"FPNN");
        assert_eq!(&q.data()[26..30], &8u32.to_le_bytes());
    }
}
