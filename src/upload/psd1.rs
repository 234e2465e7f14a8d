//! Reads the `AttributeMapping.psd1` of Microsoft's CSV2SCIM sample (a PowerShell data file) into a
//! [`Mapping`], for the subset that means the same thing here, and refuses anything else with the line it
//! cannot read.
//!
//! The subset, as CSV2SCIM evaluates it: `@{ key = value … }` (keys bare or quoted, entries separated by new
//! lines or `;`) is a table of attributes, a key starting with `urn:` an extension; `'Column'` names a column;
//! `@( … )` is a multi-valued attribute; a script block is read when it is a constant (`{ 'work' }`,
//! `{ $true }`, `{ 42 }`), a column (`{ $_.'Column' }`) or a comparison (`{ $_.'Col' -eq 'Value' }`, true when
//! the column holds the value, case-insensitively as `-eq` compares). Comments (`#`, `<# … #>`) are skipped.
//! A double-quoted string that would expand (`$`, a backtick) and any other expression are refused: running
//! PowerShell is not what this reader does. Nesting is limited to [`MAX_DEPTH`] levels.

use serde_json::Value;

use super::mapping::{Mapping, MappingError, Node};

/// Deepest nesting of tables and arrays accepted.
pub const MAX_DEPTH: usize = 32;

/// Parses a CSV2SCIM attribute mapping.
pub fn parse(text: &str) -> Result<Mapping, MappingError> {
    let mut p = Parser { text, pos: 0, depth: 0 };
    p.trivia()?;
    if !p.rest().starts_with("@{") {
        return Err(p.error("a mapping file starts with @{"));
    }
    let attributes = p.table()?;
    p.trivia()?;
    if p.pos < text.len() {
        return Err(p.error("unexpected text after the closing }"));
    }
    if attributes.is_empty() {
        return Err(MappingError("the mapping is empty: map at least externalId".into()));
    }
    Ok(Mapping { attributes, optional_columns: false })
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    /// An error naming the line the parser stands on.
    fn error(&self, why: &str) -> MappingError {
        self.error_at(self.pos, why)
    }

    fn error_at(&self, at: usize, why: &str) -> MappingError {
        let at = at.min(self.text.len());
        let number = self.text[..at].matches('\n').count() + 1;
        let line = self.text.lines().nth(number - 1).unwrap_or_default().trim();
        MappingError(format!("line {number}: cannot read `{line}`: {why}"))
    }

    /// Skips white space, new lines and comments.
    fn trivia(&mut self) -> Result<(), MappingError> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("<#") {
                let Some(end) = trimmed.find("#>") else { return Err(self.error("the comment <# is never closed")) };
                self.pos += end + 2;
            } else if trimmed.starts_with('#') {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                return Ok(());
            }
        }
    }

    fn enter(&mut self) -> Result<(), MappingError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels"))) } else { Ok(()) }
    }

    /// `@{ key = value … }`, standing on `@{`.
    fn table(&mut self) -> Result<Vec<(String, Node)>, MappingError> {
        self.enter()?;
        self.pos += 2;
        let mut entries = Vec::new();
        loop {
            self.trivia()?;
            let rest = self.rest();
            if rest.starts_with('}') {
                self.pos += 1;
                self.depth -= 1;
                return Ok(entries);
            }
            if rest.starts_with(';') {
                self.pos += 1;
                continue;
            }
            if rest.is_empty() {
                return Err(self.error("the table @{ is never closed"));
            }
            let key = self.key()?;
            self.trivia()?;
            if !self.rest().starts_with('=') {
                return Err(self.error(&format!("expected = after the key {key}")));
            }
            self.pos += 1;
            self.trivia()?;
            let value = self.value()?;
            entries.push((key, value));
        }
    }

    /// `@( value, … )`, standing on `@(`.
    fn array(&mut self) -> Result<Vec<Node>, MappingError> {
        self.enter()?;
        self.pos += 2;
        let mut items = Vec::new();
        loop {
            self.trivia()?;
            let rest = self.rest();
            if rest.starts_with(')') {
                self.pos += 1;
                self.depth -= 1;
                return Ok(items);
            }
            if rest.starts_with(',') || rest.starts_with(';') {
                self.pos += 1;
                continue;
            }
            if rest.is_empty() {
                return Err(self.error("the array @( is never closed"));
            }
            items.push(self.value()?);
        }
    }

    fn key(&mut self) -> Result<String, MappingError> {
        let rest = self.rest();
        if rest.starts_with('\'') || rest.starts_with('"') {
            return self.string();
        }
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error("expected a key (a name, or a quoted string such as \"urn:…\")"));
        }
        self.pos += len;
        Ok(rest[..len].to_owned())
    }

    /// `'…'` (with `''` for a quote) or a `"…"` that expands nothing.
    fn string(&mut self) -> Result<String, MappingError> {
        let start = self.pos;
        let rest = self.rest();
        let quote = rest.chars().next().unwrap_or('\'');
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                if chars.peek().is_some_and(|&(_, n)| n == quote) {
                    chars.next();
                    out.push(c);
                    continue;
                }
                self.pos += i + 1;
                return Ok(out);
            }
            if quote == '"' && (c == '$' || c == '`') {
                return Err(
                    self.error_at(start, "a double-quoted string with $ or ` expands in PowerShell; use single quotes")
                );
            }
            out.push(c);
        }
        Err(self.error_at(start, "the string is never closed"))
    }

    fn value(&mut self) -> Result<Node, MappingError> {
        let rest = self.rest();
        if rest.starts_with("@{") {
            return Ok(Node::Object(self.table()?));
        }
        if rest.starts_with("@(") {
            return Ok(Node::List(self.array()?));
        }
        if rest.starts_with('\'') || rest.starts_with('"') {
            return Ok(Node::Column(self.string()?));
        }
        if rest.starts_with('{') {
            return self.script_block();
        }
        Err(self.error("a value is a 'Column' name, @{ … }, @( … ) or a script block { … }"))
    }

    /// `{ … }`: a constant, a column, or a column compared with `-eq`.
    fn script_block(&mut self) -> Result<Node, MappingError> {
        let start = self.pos;
        let Some(len) = block_len(self.rest()) else { return Err(self.error("the script block { is never closed")) };
        let body = self.rest()[1..len - 1].trim();
        self.pos += len;
        let refuse = || {
            self.error_at(
                start,
                "only { 'constant' }, { $_.'Column' } and { $_.'Column' -eq 'Value' } can be read here",
            )
        };
        let mut inner = Parser { text: body, pos: 0, depth: self.depth };
        let node = match body {
            "$true" => Node::Constant(Value::Bool(true)),
            "$false" => Node::Constant(Value::Bool(false)),
            _ if body.starts_with('\'') || body.starts_with('"') => {
                let text = inner.string().map_err(|_| refuse())?;
                inner.trivia().map_err(|_| refuse())?;
                if !inner.rest().is_empty() {
                    return Err(refuse());
                }
                Node::Constant(Value::String(text))
            }
            _ if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) => {
                Node::Constant(body.parse::<u64>().map(Value::from).map_err(|_| refuse())?)
            }
            _ if body.starts_with("$_.") => {
                inner.pos = 3;
                let column = inner.key().map_err(|_| refuse())?;
                inner.trivia().map_err(|_| refuse())?;
                if inner.rest().is_empty() {
                    Node::Column(column)
                } else if let Some(after) = inner.rest().strip_prefix("-eq") {
                    inner.pos = body.len() - after.len();
                    inner.trivia().map_err(|_| refuse())?;
                    if !(inner.rest().starts_with('\'') || inner.rest().starts_with('"')) {
                        return Err(refuse());
                    }
                    let equals = inner.string().map_err(|_| refuse())?;
                    inner.trivia().map_err(|_| refuse())?;
                    if !inner.rest().is_empty() {
                        return Err(refuse());
                    }
                    Node::Equals { column, equals }
                } else {
                    return Err(refuse());
                }
            }
            _ => return Err(refuse()),
        };
        Ok(node)
    }
}

/// Length of the `{ … }` at the start of `s`, braces inside quotes not counted.
fn block_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[path = "psd1_tests.rs"]
mod tests;
