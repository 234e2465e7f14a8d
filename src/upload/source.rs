//! The HR file `entra-inbound upload` reads: CSV with a header row (`csv` crate: quoting, a UTF-8 BOM, CRLF), or
//! JSON Lines (`.jsonl`, `.ndjson`: one flat JSON object a line). Each record keeps the line it starts on, for
//! messages.
//!
//! Design decisions: columns are looked up exactly first, then case-insensitively (PowerShell's `Import-Csv`
//! properties, which CSV2SCIM reads, are case-insensitive); an empty cell, like a JSON null, has no value; in
//! JSON Lines, numbers and booleans become their text and nested values are refused (columns are flat).

use std::path::Path;

/// One HR record: where it starts and its fields in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The non-empty value of `column` (exact name first, then case-insensitive).
    pub fn get(&self, column: &str) -> Option<&str> {
        let found = self
            .fields
            .iter()
            .find(|(k, _)| k == column)
            .or_else(|| self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(column)));
        found.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// What was read: the records and, for CSV, the header.
#[derive(Debug)]
pub struct Source {
    pub records: Vec<Record>,
    /// The CSV header; None for JSON Lines (records may differ in their fields).
    pub header: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Reads `path` as JSON Lines when it ends in `.jsonl`/`.ndjson`, else as CSV.
pub fn read(path: &Path) -> Result<Source, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| SourceError(format!("cannot read {}: {e}", path.display())))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let source = if ext == "jsonl" || ext == "ndjson" { json_lines(&bytes)? } else { csv(&bytes)? };
    if source.records.is_empty() {
        return Err(SourceError(format!("{} holds no records", path.display())));
    }
    Ok(source)
}

/// CSV with a header row; every row must have as many fields as the header.
pub fn csv(bytes: &[u8]) -> Result<Source, SourceError> {
    let lines = Lines::new(bytes);
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| SourceError(format!("the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(SourceError(format!("the header row: column {} has no name", i + 1)));
        }
        if header[..i].iter().any(|earlier| earlier.eq_ignore_ascii_case(h)) {
            return Err(SourceError(format!("the header row: column '{h}' appears twice")));
        }
    }
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| SourceError(csv_error(&e, &lines)))?;
        let line = row.position().map_or(0, |p| lines.at(p));
        let fields = header.iter().cloned().zip(row.iter().map(str::to_owned)).collect();
        records.push(Record { line, fields });
    }
    Ok(Source { records, header: Some(header) })
}

/// Line numbers of byte offsets. The csv crate's own line count depends on the line terminator (CRLF counts
/// differently), so the line a record starts on is counted here from its byte offset.
struct Lines<'b> {
    bytes: &'b [u8],
    breaks: Vec<usize>,
}

impl<'b> Lines<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        // A line ends at LF, or at a CR not followed by LF (CRLF and old Mac files alike).
        let ends = |i: &usize| bytes[*i] == b'\n' || (bytes[*i] == b'\r' && bytes.get(*i + 1) != Some(&b'\n'));
        Lines { bytes, breaks: (0..bytes.len()).filter(ends).collect() }
    }

    /// The 1-based line of the first byte at or after `pos` that is not a line break.
    fn at(&self, pos: &::csv::Position) -> u64 {
        let mut at = usize::try_from(pos.byte()).unwrap_or(usize::MAX).min(self.bytes.len());
        while self.bytes.get(at).is_some_and(|b| *b == b'\r' || *b == b'\n') {
            at += 1;
        }
        self.breaks.partition_point(|&b| b < at) as u64 + 1
    }
}

fn csv_error(e: &::csv::Error, lines: &Lines<'_>) -> String {
    let line = |pos: &Option<::csv::Position>| pos.as_ref().map_or(0, |p| lines.at(p));
    match e.kind() {
        ::csv::ErrorKind::UnequalLengths { pos, expected_len, len } => {
            format!("line {}: {len} fields, but the header has {expected_len}", line(pos))
        }
        ::csv::ErrorKind::Utf8 { pos, .. } => format!("line {}: not valid UTF-8", line(pos)),
        _ => e.to_string(),
    }
}

/// One flat JSON object a line; blank lines are skipped.
pub fn json_lines(bytes: &[u8]) -> Result<Source, SourceError> {
    let text = std::str::from_utf8(bytes).map_err(|e| SourceError(format!("not valid UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| SourceError(format!("line {number}: not JSON: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(SourceError(format!("line {number}: a record must be a JSON object")));
        };
        let mut fields = Vec::with_capacity(object.len());
        for (k, v) in object {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(SourceError(format!(
                        "line {number}: field '{k}' is not a single value (records are flat: field → value)"
                    )));
                }
            };
            fields.push((k, text));
        }
        records.push(Record { line: number, fields });
    }
    Ok(Source { records, header: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_a_bom_quotes_crlf_and_keeps_line_numbers() {
        let s = csv(b"\xef\xbb\xbfexternalId,Name\r\n1,\"Smith, Ann\"\r\n2,\"multi\nline\"\r\n3,\r\n").unwrap();
        assert_eq!(s.header.as_deref(), Some(&["externalId".to_owned(), "Name".to_owned()][..]));
        let lines: Vec<u64> = s.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(s.records[0].get("name"), Some("Smith, Ann"));
        assert_eq!(s.records[1].get("Name"), Some("multi\nline"));
        assert_eq!(s.records[2].get("Name"), None, "an empty cell has no value");
        assert_eq!(s.records[2].get("missing"), None);
    }

    #[test]
    fn line_numbers_do_not_depend_on_the_line_terminator() {
        for text in ["id\n1\n\n2\n", "id\r\n1\r\n\r\n2\r\n", "id\r1\r\r2\r"] {
            let lines: Vec<u64> = csv(text.as_bytes()).unwrap().records.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 4], "{text:?}");
        }
    }

    #[test]
    fn csv_errors_name_the_line() {
        assert_eq!(csv(b"a,b\n1,2\n3\n").unwrap_err().to_string(), "line 3: 1 fields, but the header has 2");
        assert_eq!(csv(b"a,A\n1,2\n").unwrap_err().to_string(), "the header row: column 'A' appears twice");
        assert_eq!(csv(b"a,,b\n1,2,3\n").unwrap_err().to_string(), "the header row: column 2 has no name");
        assert_eq!(csv(b"a\n\xff\n").unwrap_err().to_string(), "line 2: not valid UTF-8");
    }

    #[test]
    fn json_lines_are_flat_objects() {
        let s = json_lines(b"{\"id\":\"1\",\"n\":7,\"ok\":true,\"x\":null}\n\n{\"id\":\"2\"}\n").unwrap();
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.records[0].get("n"), Some("7"));
        assert_eq!(s.records[0].get("ok"), Some("true"));
        assert_eq!(s.records[0].get("x"), None);
        assert_eq!(s.records[1].line, 3);
        assert!(json_lines(b"{\"a\":{}}\n").unwrap_err().to_string().starts_with("line 1: field 'a' is not a single"));
        assert_eq!(json_lines(b"[1]\n").unwrap_err().to_string(), "line 1: a record must be a JSON object");
        assert!(json_lines(b"{\n").unwrap_err().to_string().starts_with("line 1: not JSON"));
    }

    #[test]
    fn an_empty_or_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.csv");
        std::fs::write(&path, "externalId\n").unwrap();
        assert!(read(&path).unwrap_err().to_string().ends_with("empty.csv holds no records"));
        let missing = dir.path().join("missing.csv");
        assert!(read(&missing).unwrap_err().to_string().starts_with("cannot read "));
    }
}
