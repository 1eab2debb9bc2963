//! A msgpack encoder for building server frames, with the integer and string encodings chosen
//! by the fuzzer (any encoding that can hold the value), since peers differ: C++ and Python
//! write the smallest unsigned form, Go writes signed forms (reference §2.1, §11 example 7).

#[derive(Default, Clone)]
pub struct Enc {
    pub out: Vec<u8>,
}

impl Enc {
    pub fn new() -> Self {
        Self::default()
    }

    /// `v` in one of the encodings that can hold it, picked by `sel`.
    pub fn int(&mut self, v: i64, sel: u8) {
        let mut forms: [Option<Vec<u8>>; 10] = Default::default();
        if (0..=0x7f).contains(&v) {
            forms[0] = Some(vec![v as u8]);
        }
        if (-32..0).contains(&v) {
            forms[1] = Some(vec![v as u8]);
        }
        if let Ok(x) = u8::try_from(v) {
            forms[2] = Some(vec![0xcc, x]);
        }
        if let Ok(x) = u16::try_from(v) {
            forms[3] = Some([&[0xcd][..], &x.to_be_bytes()].concat());
        }
        if let Ok(x) = u32::try_from(v) {
            forms[4] = Some([&[0xce][..], &x.to_be_bytes()].concat());
        }
        if let Ok(x) = u64::try_from(v) {
            forms[5] = Some([&[0xcf][..], &x.to_be_bytes()].concat());
        }
        if let Ok(x) = i8::try_from(v) {
            forms[6] = Some(vec![0xd0, x as u8]);
        }
        if let Ok(x) = i16::try_from(v) {
            forms[7] = Some([&[0xd1][..], &x.to_be_bytes()].concat());
        }
        if let Ok(x) = i32::try_from(v) {
            forms[8] = Some([&[0xd2][..], &x.to_be_bytes()].concat());
        }
        forms[9] = Some([&[0xd3][..], &v.to_be_bytes()].concat());
        let ok: Vec<Vec<u8>> = forms.into_iter().flatten().collect();
        let pick = &ok[usize::from(sel) % ok.len()];
        self.out.extend_from_slice(pick);
    }

    /// A `uint64` above `i64::MAX` (out of range for every field).
    pub fn big_uint(&mut self, v: u64) {
        self.out.push(0xcf);
        self.out.extend_from_slice(&(v | 1 << 63).to_be_bytes());
    }

    /// `s` as fixstr/str8/str16/str32/bin8/bin16/bin32, picked by `sel` among those that fit.
    pub fn str(&mut self, s: &[u8], sel: u8) {
        let n = s.len();
        let mut forms: Vec<Vec<u8>> = Vec::with_capacity(7);
        if n < 32 {
            forms.push(vec![0xa0 | n as u8]);
        }
        if n < 256 {
            forms.push(vec![0xd9, n as u8]);
            forms.push(vec![0xc4, n as u8]);
        }
        if n < 65536 {
            forms.push([&[0xda][..], &(n as u16).to_be_bytes()].concat());
            forms.push([&[0xc5][..], &(n as u16).to_be_bytes()].concat());
        }
        forms.push([&[0xdb][..], &(n as u32).to_be_bytes()].concat());
        forms.push([&[0xc6][..], &(n as u32).to_be_bytes()].concat());
        // Favour the forms peers use (the first two) three times out of four.
        let i = if sel & 3 != 0 {
            usize::from(sel >> 2) % forms.len().min(2)
        } else {
            usize::from(sel >> 2) % forms.len()
        };
        self.out.extend_from_slice(&forms[i]);
        self.out.extend_from_slice(s);
    }

    /// A map header for `n` pairs, picked by `sel % 4`: 0 and 1 write fixmap when `n` fits
    /// (else map16), 2 writes map16 and 3 writes map32.
    pub fn map(&mut self, n: usize, sel: u8) {
        match sel % 4 {
            0 | 1 if n < 16 => self.out.push(0x80 | n as u8),
            3 => {
                self.out.push(0xdf);
                self.out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                self.out.push(0xde);
                self.out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
    }

    pub fn array(&mut self, n: usize) {
        if n < 16 {
            self.out.push(0x90 | n as u8);
        } else {
            self.out.push(0xdc);
            self.out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }

    pub fn nil(&mut self) {
        self.out.push(0xc0);
    }

    pub fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
}

/// An FPNN frame around `payload`: a quest (oneway when `seq` is `None`) or, with
/// `answer_status`, an answer. Header as the C++ server writes it, version from `version`.
pub fn frame(
    version: u8,
    seq: Option<u32>,
    method: &[u8],
    answer_status: Option<u8>,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = b"FPNN".to_vec();
    let (mtype, ss) = match (answer_status, seq) {
        (Some(status), _) => (2u8, status),
        (None, Some(_)) => (1, method.len() as u8),
        (None, None) => (0, method.len() as u8),
    };
    f.extend_from_slice(&[version, 0x80, mtype, ss]);
    f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    if answer_status.is_some() || seq.is_some() {
        f.extend_from_slice(&seq.unwrap_or(0).to_le_bytes());
    }
    if answer_status.is_none() {
        f.extend_from_slice(method);
    }
    f.extend_from_slice(payload);
    f
}
