//! What goes to stdout: one [`Record`] per monitor callback, printed as a text line or as one
//! JSON object per line.
//!
//! A record is the callback's name (`event`) and its fields in order. Byte strings become a
//! JSON string under their key when they are UTF-8, and standard base64 (padded) under
//! `KEY_b64` when they are not, so a field is either `message` or `message_b64`, never both.
//! Text lines show the same fields as `key=value`, values written as JSON (strings quoted
//! and escaped), so a line never carries a raw control character.

use std::io::Write;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::args::Format;

/// One monitor callback, ready to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    event: &'static str,
    fields: Vec<(String, Value)>,
}

impl Record {
    /// A record of callback `event` with no fields yet.
    pub fn new(event: &'static str) -> Self {
        Self {
            event,
            fields: Vec::new(),
        }
    }

    /// The callback's name.
    pub fn event(&self) -> &'static str {
        self.event
    }

    /// Adds `key` with `value`.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.push((key.to_owned(), value.into()));
        self
    }

    /// Adds the byte string `bytes` as `key` (UTF-8) or `key_b64` (anything else).
    pub fn bytes(mut self, key: &str, bytes: &[u8]) -> Self {
        self.fields.push(bytes_field(key, bytes));
        self
    }

    /// The record as one JSON object, `event` first, on one line (no newline).
    pub fn json(&self) -> String {
        let mut line = String::from("{\"event\":");
        line += &Value::from(self.event).to_string();
        for (key, value) in &self.fields {
            line.push(',');
            line += &Value::from(key.as_str()).to_string();
            line.push(':');
            line += &value.to_string();
        }
        line.push('}');
        line
    }

    /// The record as a text line: the name, then `key=value` with JSON values (no newline).
    pub fn text(&self) -> String {
        let mut line = if self.fields.is_empty() {
            self.event.to_owned()
        } else {
            format!("{:<18}", self.event)
        };
        for (key, value) in &self.fields {
            line += &format!(" {key}={value}");
        }
        line
    }
}

/// `(key, string)` for UTF-8 bytes, `(key_b64, base64)` for others.
pub fn bytes_field(key: &str, bytes: &[u8]) -> (String, Value) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (key.to_owned(), Value::from(s)),
        Err(_) => (
            format!("{key}_b64"),
            Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

/// Puts the byte string `bytes` into `map` as [`bytes_field`] names it.
pub fn put_bytes(map: &mut Map<String, Value>, key: &str, bytes: &[u8]) {
    let (key, value) = bytes_field(key, bytes);
    map.insert(key, value);
}

/// Where records go: stdout, in the chosen format.
pub struct Output {
    format: Format,
    out: Box<dyn Write>,
}

impl Output {
    /// Records to stdout.
    pub fn stdout(format: Format) -> Self {
        Self::new(format, Box::new(std::io::stdout()))
    }

    /// Records to `out`.
    pub fn new(format: Format, out: Box<dyn Write>) -> Self {
        Self { format, out }
    }

    /// Writes `record` as one line and flushes it (a reader sees each callback at once). An
    /// error means the reader went away (a closed pipe).
    pub fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let line = match self.format {
            Format::Text => record.text(),
            Format::Json => record.json(),
        };
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record::new("push_p2p_chat")
            .field("from", 1)
            .field("to", 2)
            .bytes("message", "hi \"there\"\n\u{1}".as_bytes())
            .bytes("attrs", b"\xff\x00")
            .field("seq", Value::Null)
    }

    #[test]
    fn json_lines_parse_with_the_event_first_and_escaped_strings() {
        let line = sample().json();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(r#"{"event":"push_p2p_chat","from":1,"#),
            "{line}"
        );
        let v: Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["event"], "push_p2p_chat");
        assert_eq!(v["message"], "hi \"there\"\n\u{1}");
        assert_eq!(v["attrs_b64"], "/wA=");
        assert!(v.get("attrs").is_none());
        assert!(v["seq"].is_null());
    }

    #[test]
    fn text_lines_quote_strings_and_keep_one_line() {
        let line = sample().text();
        assert_eq!(
            line,
            r#"push_p2p_chat      from=1 to=2 message="hi \"there\"\n\u0001" attrs_b64="/wA=" seq=null"#
        );
        assert_eq!(Record::new("ping").text(), "ping");
    }

    #[test]
    fn output_writes_one_flushed_line_per_record() {
        #[derive(Clone, Default)]
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Shared::default();
        let mut out = Output::new(Format::Json, Box::new(buf.clone()));
        out.write(&Record::new("ping")).unwrap();
        out.write(&Record::new("kickout")).unwrap();
        let text = String::from_utf8(buf.0.borrow().clone()).unwrap();
        assert_eq!(text, "{\"event\":\"ping\"}\n{\"event\":\"kickout\"}\n");
    }
}
