//! Incremental frame reader over a caller-provided fixed buffer.
//!
//! Bytes arrive in any chunking, either copied in with [`FrameReader::feed`] or read by the
//! transport straight into [`FrameReader::window`] and then [`FrameReader::commit`]ted. Each
//! complete frame is handed out as a [`Frame`] borrowed from the buffer.
//!
//! "Need more bytes" is `Ok(None)`; a malformed stream is `Err(FrameError)`. Errors are sticky:
//! the stream cannot be resynchronised, so every later call returns the same error until
//! [`FrameReader::reset`] (for a new connection).
//!
//! [`FrameReader::peek`] looks at the next frame without consuming it, so a caller that cannot
//! yet act on a frame (for example, no room for its answer) can leave it in place.
//!
//! A frame longer than the buffer (up to [`MAX_FRAME_LEN`]) can be skipped as it streams
//! through: [`FrameReader::head_at`] reads its header, seq and method, and
//! [`FrameReader::skip_at`] discards it, including the bytes still to arrive.

use super::frame::{Frame, FrameError, FrameHead, MAX_FRAME_LEN, Status, parse_frame, parse_head};

/// A frame reassembler over a byte buffer: `&mut [u8]`, or an owned array such as `[u8; N]`.
#[derive(Debug, Clone)]
pub struct FrameReader<B> {
    buf: B,
    /// Start of unconsumed bytes.
    start: usize,
    /// End of buffered bytes.
    end: usize,
    max_frame: usize,
    /// Whether a framing error stopped the stream; `error` is then that error. (Two fields
    /// rather than an `Option`, whose `None` would not be zero bytes: an unconfigured
    /// listener is all zeros, so that a `static` of it lands in .bss.)
    failed: bool,
    error: FrameError,
    /// Bytes of a skipped frame still to arrive and be discarded.
    skip: usize,
}

impl<const N: usize> FrameReader<[u8; N]> {
    /// A reader over a zeroed array of `N` bytes, all zero bytes itself (a `const` for
    /// listeners built in place): it reads no frame until [`FrameReader::set_max_frame`].
    pub const fn zeroed() -> Self {
        Self {
            buf: [0; N],
            start: 0,
            end: 0,
            max_frame: 0,
            failed: false,
            error: FrameError::BadMagic,
            skip: 0,
        }
    }
}

impl<B> FrameReader<B> {
    /// The framing error that stopped the stream, if any.
    fn sticky(&self) -> Option<FrameError> {
        self.failed.then_some(self.error)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> FrameReader<B> {
    /// The buffer's length.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Sets the longest frame read whole (at most the buffer's length), and empties the reader.
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame.min(self.buf.as_ref().len());
        self.reset();
    }

    /// Reads frames into `buf`. Frames longer than `max_frame` or than `buf` are refused with
    /// [`FrameError::TooLarge`].
    pub fn new(buf: B, max_frame: usize) -> Self {
        let max_frame = max_frame.min(buf.as_ref().len());
        Self {
            buf,
            start: 0,
            end: 0,
            max_frame,
            failed: false,
            error: FrameError::BadMagic,
            skip: 0,
        }
    }

    /// The largest frame this reader accepts.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes buffered and not yet consumed as frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Forgets all buffered bytes and any error (for a new connection).
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.failed = false;
        self.skip = 0;
    }

    /// Bytes of a skipped frame that have not arrived yet (they will be discarded).
    pub fn skipping(&self) -> usize {
        self.skip
    }

    /// Moves unconsumed bytes to the front so the free space is contiguous.
    fn compact(&mut self) {
        if self.start > 0 {
            crate::shift::move_down(self.buf.as_mut(), self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// The free space the transport may read into. Follow with [`FrameReader::commit`].
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub fn window(&mut self) -> &mut [u8] {
        self.compact();
        let end = self.end;
        &mut self.buf.as_mut()[end..]
    }

    /// Marks `n` bytes of the last [`FrameReader::window`] as filled. Clamped to the window.
    /// Bytes that belong to a frame being skipped are dropped here.
    #[cfg_attr(not(rtm_opt_size), inline(always))]
    pub fn commit(&mut self, n: usize) {
        let n = n.min(self.buf.as_ref().len() - self.end);
        let skipped = n.min(self.skip);
        if skipped > 0 {
            self.skip -= skipped;
            let end = self.end;
            crate::shift::move_down(self.buf.as_mut(), end + skipped..end + n, end);
        }
        self.end += n - skipped;
    }

    /// Copies as much of `data` as fits and returns how many bytes were taken.
    /// Bytes of a frame being skipped are taken and dropped without a copy.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let skipped = self.skip.min(data.len());
        self.skip -= skipped;
        let data = data.get(skipped..).unwrap_or(&[]);
        let window = self.window();
        let n = window.len().min(data.len());
        window[..n].copy_from_slice(&data[..n]);
        self.commit(n);
        skipped + n
    }

    /// The next complete frame and its length, without consuming it.
    pub fn peek(&mut self) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        match parse_frame(&self.buf.as_ref()[self.start..self.end], self.max_frame) {
            Ok(Status::Complete(frame, len)) => Ok(Some((frame, len))),
            Ok(Status::Partial(_)) => Ok(None),
            Err(e) => {
                self.failed = true;
                self.error = e;
                Err(e)
            }
        }
    }

    /// The complete frame starting `offset` bytes past the unconsumed data, and its length,
    /// without consuming anything or recording an error (for callers that walk several frames
    /// before deciding what to consume).
    pub fn peek_at(&self, offset: usize) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        let data = self.buf.as_ref().get(self.start..self.end).unwrap_or(&[]);
        let data = data.get(offset..).unwrap_or(&[]);
        if data.is_empty() {
            // Nothing buffered: what parse_frame would say, without parsing.
            return Ok(None);
        }
        match parse_frame(data, self.max_frame) {
            Ok(Status::Complete(frame, len)) => Ok(Some((frame, len))),
            Ok(Status::Partial(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes buffered and not yet consumed, for a straight read of the whole frames among
    /// them; none once a framing error stuck ([`FrameReader::peek_at`] reports it).
    #[inline(always)]
    pub fn readable(&self) -> &[u8] {
        if self.failed {
            return &[];
        }
        self.buf.as_ref().get(self.start..self.end).unwrap_or(&[])
    }

    /// The head of the frame `offset` bytes past the unconsumed data, for a frame too large for
    /// the buffer ([`FrameError::TooLarge`] from [`FrameReader::peek_at`]) but within
    /// [`MAX_FRAME_LEN`]. `Ok(None)` while its header, seq and method have not all arrived
    /// (a method is cut once the buffer is full). Any other frame gives its error.
    pub fn head_at(&self, offset: usize) -> Result<Option<FrameHead<'_>>, FrameError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        let data = self.buf.as_ref().get(self.start..self.end).unwrap_or(&[]);
        let data = data.get(offset..).unwrap_or(&[]);
        let full = self.start + offset == 0 && self.end == self.buf.as_ref().len();
        match parse_head(data, full)? {
            // Not a frame to skip: it fits (callers ask only about frames that do not).
            Some(h) if h.len <= self.max_frame => Err(FrameError::TooLarge {
                len: h.len,
                max: MAX_FRAME_LEN,
            }),
            head => Ok(head),
        }
    }

    /// Consumes `offset` bytes and then the frame of `len` bytes that starts there: what is
    /// buffered now, and the rest as it arrives.
    pub fn skip_at(&mut self, offset: usize, len: usize) {
        let here = self.buffered().saturating_sub(offset).min(len);
        self.skip = len - here;
        self.consume(offset + here);
    }

    /// Consumes `len` bytes, normally the length returned by [`FrameReader::peek`].
    pub fn consume(&mut self, len: usize) {
        self.start = self.start.saturating_add(len).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// The next complete frame, consumed. `Ok(None)` means more bytes are needed.
    ///
    /// Consuming only moves indices: the frame's bytes stay in place until the next
    /// [`FrameReader::window`] or [`FrameReader::feed`], which the borrow prevents meanwhile.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, FrameError> {
        if let Some(e) = self.sticky() {
            return Err(e);
        }
        match parse_frame(&self.buf.as_ref()[self.start..self.end], self.max_frame) {
            Ok(Status::Complete(frame, len)) => {
                self.start += len;
                if self.start == self.end {
                    self.start = 0;
                    self.end = 0;
                }
                Ok(Some(frame))
            }
            Ok(Status::Partial(_)) => Ok(None),
            Err(e) => {
                self.failed = true;
                self.error = e;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::{EmptyMap, build_answer, build_quest};

    #[test]
    fn frames_split_byte_by_byte() {
        let mut stream = [0u8; 64];
        let a = build_quest(&mut stream, Some(7), "ping", &EmptyMap).unwrap();
        let b = build_answer(&mut stream[a..], 9, 0, &EmptyMap).unwrap();
        let mut storage = [0u8; 32];
        let mut r = FrameReader::new(&mut storage, 1024);
        let mut seen = 0;
        for byte in &stream[..a + b] {
            assert_eq!(r.feed(core::slice::from_ref(byte)), 1);
            while let Some(f) = r.next_frame().unwrap() {
                seen += 1;
                match (seen, f) {
                    (1, Frame::Quest { seq, method, .. }) => {
                        assert_eq!((seq, method), (Some(7), &b"ping"[..]))
                    }
                    (2, Frame::Answer { seq, .. }) => assert_eq!(seq, 9),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(seen, 2);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn oversized_frame_is_a_sticky_error() {
        let mut frame = [0u8; 64];
        let n = build_quest(&mut frame, Some(1), "a-rather-long-method", &EmptyMap).unwrap();
        let mut storage = [0u8; 16];
        let mut r = FrameReader::new(&mut storage, 1024);
        r.feed(&frame[..n]);
        let err = FrameError::TooLarge { len: n, max: 16 };
        assert_eq!(r.next_frame(), Err(err));
        assert_eq!(r.next_frame(), Err(err));
        r.reset();
        assert_eq!(r.next_frame(), Ok(None));
    }

    #[test]
    fn peek_does_not_consume() {
        let mut frame = [0u8; 32];
        let n = build_answer(&mut frame, 3, 0, &EmptyMap).unwrap();
        let mut storage = [0u8; 32];
        let mut r = FrameReader::new(&mut storage, 1024);
        r.feed(&frame[..n]);
        assert!(r.peek().unwrap().is_some());
        assert!(r.peek().unwrap().is_some());
        assert!(r.next_frame().unwrap().is_some());
        assert!(r.peek().unwrap().is_none());
    }
}
