//! The elements of one large JSON array, read one at a time from a stream. serde_json parses a
//! slice several times faster than an `io::Read`, but content.json can be gigabytes: this finds
//! where each element ends (strings, escapes and nesting respected) and hands its bytes over, so
//! only one element is ever in memory. What an element contains is left to its parser.

use std::io::BufRead;

/// An element larger than this is refused rather than buffered (a hostile archive).
pub const MAX_ELEMENT_BYTES: usize = 16 << 20;

enum State {
    Start,
    InArray { after_element: bool },
    Done,
}

pub struct ArrayElements<R> {
    reader: R,
    element: Vec<u8>,
    state: State,
    /// Bytes consumed so far, for error positions.
    offset: u64,
}

impl<R: BufRead> ArrayElements<R> {
    pub fn new(reader: R) -> Self {
        ArrayElements { reader, element: Vec::new(), state: State::Start, offset: 0 }
    }

    /// The next element's bytes, or `None` after the closing `]` (and nothing but whitespace
    /// after it).
    pub fn next_element(&mut self) -> Result<Option<&[u8]>, String> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    self.expect(b'[', "'[' opening the array")?;
                    self.state = State::InArray { after_element: false };
                }
                State::InArray { after_element } => {
                    let b = self.peek_after_whitespace()?;
                    match b {
                        Some(b']') => {
                            self.consume(1);
                            self.state = State::Done;
                            if self.peek_after_whitespace()?.is_some() {
                                return Err(self.at("nothing after the closing ']'"));
                            }
                            return Ok(None);
                        }
                        Some(b',') if after_element => {
                            self.consume(1);
                            if self.peek_after_whitespace()? == Some(b']') {
                                return Err(self.at("an element after ',' (not ']')"));
                            }
                            self.state = State::InArray { after_element: false };
                        }
                        Some(_) if !after_element => {
                            self.read_element()?;
                            self.state = State::InArray { after_element: true };
                            return Ok(Some(&self.element));
                        }
                        Some(_) => return Err(self.at("',' or ']' after an element")),
                        None => return Err(self.at("']' closing the array (the text ends early)")),
                    }
                }
            }
        }
    }

    fn at(&self, expected: &str) -> String {
        format!("expected {expected} at byte {}", self.offset)
    }

    fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.offset += n as u64;
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.peek_after_whitespace()? != Some(byte) {
            return Err(self.at(what));
        }
        self.consume(1);
        Ok(())
    }

    /// Skip whitespace; the next byte without consuming it (`None` at the end).
    fn peek_after_whitespace(&mut self) -> Result<Option<u8>, String> {
        loop {
            let buf = self.reader.fill_buf().map_err(|e| format!("read error at byte {}: {e}", self.offset))?;
            if buf.is_empty() {
                return Ok(None);
            }
            let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if ws < buf.len() {
                let next = buf[ws];
                self.consume(ws);
                return Ok(Some(next));
            }
            let n = buf.len();
            self.consume(n);
        }
    }

    /// Copy one element into `self.element`: an object or array up to its matching bracket, a
    /// string up to its closing quote, anything else up to the next delimiter.
    fn read_element(&mut self) -> Result<(), String> {
        self.element.clear();
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let start = self.offset;
            let buf = self.reader.fill_buf().map_err(|e| format!("read error at byte {start}: {e}"))?;
            if buf.is_empty() {
                return Err(format!("element starting before byte {start} is cut off by the end of the text"));
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if in_string {
                    match b {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => {
                            in_string = false;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    // A bare value (number, true, ...) ends at the first delimiter after it.
                    b',' | b']' | b'}' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ if depth == 0 && b.is_ascii_whitespace() => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let taken = end.unwrap_or(buf.len());
            if taken == 0 && self.element.is_empty() {
                return Err(self.at("an element"));
            }
            if self.element.len() + taken > MAX_ELEMENT_BYTES {
                return Err(format!(
                    "an element starting before byte {start} is larger than {} MB",
                    MAX_ELEMENT_BYTES >> 20
                ));
            }
            self.element.extend_from_slice(&buf[..taken]);
            self.consume(taken);
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Result<Vec<String>, String> {
        // A tiny buffer makes every element straddle reads.
        let mut it = ArrayElements::new(std::io::BufReader::with_capacity(3, text.as_bytes()));
        let mut out = Vec::new();
        while let Some(e) = it.next_element()? {
            out.push(String::from_utf8_lossy(e).into_owned());
        }
        Ok(out)
    }

    #[test]
    fn splits_elements_whatever_the_layout() {
        assert_eq!(elements("[]").unwrap(), Vec::<String>::new());
        assert_eq!(elements(" \n[ \n ] \n").unwrap(), Vec::<String>::new());
        assert_eq!(
            elements(r#"[{"a":"x,}]\"{"},{"b":[1,{"c":2}]} , 42,"s]",true]"#).unwrap(),
            [r#"{"a":"x,}]\"{"}"#, r#"{"b":[1,{"c":2}]}"#, "42", r#""s]""#, "true"]
        );
        assert_eq!(elements("[\n{\"a\":1},\n{\"a\":2}\n]\n").unwrap(), [r#"{"a":1}"#, r#"{"a":2}"#]);
    }

    #[test]
    fn malformed_arrays_are_refused_with_a_position() {
        for (text, wanted) in [
            ("", "'['"),
            ("{}", "'['"),
            ("[{\"a\":1}", "']' closing the array"),
            ("[{\"a\":1},]", "an element after ','"),
            ("[{\"a\":1} {\"a\":2}]", "',' or ']'"),
            ("[{\"a\":1}] x", "nothing after"),
            ("[{\"a\":\"unterminated}]", "cut off"),
            ("[,{}]", "byte 1"),
        ] {
            let err = elements(text).unwrap_err();
            assert!(err.contains(wanted), "{text:?}: {err}");
        }
    }

    #[test]
    fn an_oversized_element_is_refused_without_buffering_it() {
        let big = format!("[\"{}\"]", "x".repeat(MAX_ELEMENT_BYTES + 1));
        assert!(elements(&big).unwrap_err().contains("larger than 16 MB"));
    }
}
