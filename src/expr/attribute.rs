//! Attribute references resolved against the inbound SCIM user (`data` of a bulk operation) — the
//! attribute references of API-driven apps (docs/fidelity.md B.5) and the default mappings (A.4).
//!
//! Forms: `[userName]`, nested `[name.givenName]`, extension `[urn:…:enterprise:2.0:User:department]`,
//! custom namespaces `[urn:contoso:employee:HireDate]`, multi-valued filters `[emails[type eq "work"].value]`
//! (`eq` against a string, boolean or number). Rules:
//! * names match case-insensitively (SCIM);
//! * a reference containing `:` selects the **longest top-level record key that is a prefix of the
//!   reference followed by `:`** and reads the rest inside that object; failing that, a top-level key equal
//!   to the whole reference;
//! * a filter selects the first matching element (single-valued targets such as `mail` take one value);
//! * JSON → [`Value`]: strings as-is, booleans `True`/`False`, numbers in decimal, an object with a `value`
//!   key (enterprise `manager`) → that value, arrays → multi-valued, missing/null/other objects → null.
//!
//! Design constraints: the path (and every namespace split) is compiled once at parse time; resolution
//! borrows from the record and allocates only for the final value, and counts the members, elements and
//! compared text it scans (the evaluation's work limit, `budget.rs`: members are looked up by a linear,
//! case-insensitive scan, so a huge record makes every reference expensive).

use crate::scim::record::{Record as Json, RecordObject as Map, member, scalar_text};

use super::value::Value;

/// A compiled reference.
#[derive(Debug, Clone)]
pub(crate) struct AttrPath {
    /// The whole reference, for the flat-key fallback.
    raw: String,
    /// For references without `:` — the path from the record root.
    plain: Option<Vec<Segment>>,
    /// For references with `:` — `(namespace, path inside it)` for every `:`, longest namespace first.
    namespaced: Vec<(String, Vec<Segment>)>,
}

#[derive(Debug, Clone)]
struct Segment {
    name: String,
    filter: Option<Filter>,
}

#[derive(Debug, Clone)]
struct Filter {
    attr: String,
    value: FilterValue,
}

#[derive(Debug, Clone)]
enum FilterValue {
    Str(String),
    Bool(bool),
    Num(f64),
}

/// A compile failure: byte offset inside the reference text and message.
pub(crate) type PathError = (usize, String);

impl AttrPath {
    pub(crate) fn compile(raw: &str) -> Result<Self, PathError> {
        let colons: Vec<usize> = top_level_positions(raw, ':');
        let mut namespaced = Vec::new();
        for &i in colons.iter().rev() {
            let rest = &raw[i + 1..];
            if i == 0 || rest.is_empty() {
                continue;
            }
            let segs = segments(rest).map_err(|(at, m)| (i + 1 + at, m))?;
            namespaced.push((raw[..i].to_owned(), segs));
        }
        let plain = if colons.is_empty() { Some(segments(raw)?) } else { None };
        if plain.is_none() && namespaced.is_empty() {
            return Err((0, format!("invalid attribute reference '{raw}'")));
        }
        Ok(Self { raw: raw.to_owned(), plain, namespaced })
    }

    /// Reads the referenced attribute from `record`, adding the members and elements it scans to `scanned`.
    pub(crate) fn resolve(&self, record: &Json<'_>, scanned: &mut u64) -> Value {
        let Some(root) = record.as_object() else {
            return Value::Null;
        };
        let mut scan = Scan(0);
        let value = self.resolve_in(root, &mut scan);
        *scanned += scan.0;
        value
    }

    fn resolve_in(&self, root: &Map<'_>, scan: &mut Scan) -> Value {
        if let Some(segs) = &self.plain {
            let v = walk(root, segs, scan);
            if !v.is_null() || segs.len() == 1 {
                return v;
            }
        } else {
            for (ns, segs) in &self.namespaced {
                if let Some(Json::Object(obj)) = scan.member(root, ns) {
                    return walk(obj, segs, scan);
                }
            }
        }
        // Flat key holding the whole reference (e.g. parseExpression test objects: "passwordProfile.password").
        scan.member(root, &self.raw).map_or(Value::Null, |v| scan.value(v))
    }
}

/// Byte positions of `target` outside brackets and quotes.
fn top_level_positions(s: &str, target: char) -> Vec<usize> {
    let (mut depth, mut in_quote, mut escaped) = (0usize, false, false);
    let mut out = Vec::new();
    for (i, ch) in s.char_indices() {
        if in_quote {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quote = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_quote = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c == target && depth == 0 => out.push(i),
            _ => {}
        }
    }
    out
}

fn segments(path: &str) -> Result<Vec<Segment>, PathError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cuts = top_level_positions(path, '.');
    cuts.push(path.len());
    for end in cuts {
        out.push(segment(&path[start..end]).map_err(|(at, m)| (start + at, m))?);
        start = end + 1;
    }
    Ok(out)
}

fn segment(text: &str) -> Result<Segment, PathError> {
    let (name, filter) = match text.find('[') {
        None => (text, None),
        Some(open) => {
            let Some(body) = text[open + 1..].strip_suffix(']') else {
                return Err((open, format!("expected ']' to close the filter in '{text}'")));
            };
            let f = filter(body).map_err(|(at, m)| (open + 1 + at, m))?;
            (&text[..open], Some(f))
        }
    };
    let name = name.trim();
    if name.is_empty() || name.contains(['[', ']', '"']) {
        return Err((0, format!("invalid attribute name '{text}'")));
    }
    Ok(Segment { name: name.to_owned(), filter })
}

/// `attr eq value` — the only operator multi-valued attribute paths use in mappings.
fn filter(body: &str) -> Result<Filter, PathError> {
    let trimmed = body.trim_start();
    let lead = body.len() - trimmed.len();
    let (attr, rest) = split_word(trimmed);
    let (op, value) = split_word(rest);
    if attr.is_empty() || op.is_empty() || value.is_empty() {
        return Err((lead, format!("expected 'attribute eq value' in filter '{body}'")));
    }
    if !op.eq_ignore_ascii_case("eq") {
        return Err((lead, format!("unsupported filter operator '{op}' (only 'eq' is supported)")));
    }
    let value = value.trim();
    let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        FilterValue::Str(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
    } else if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
        FilterValue::Bool(value.eq_ignore_ascii_case("true"))
    } else if let Ok(n) = value.parse::<f64>() {
        FilterValue::Num(n)
    } else {
        return Err((lead, format!("invalid filter value '{value}'")));
    };
    Ok(Filter { attr: attr.to_owned(), value })
}

/// The first whitespace-delimited word and the (left-trimmed) rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], s[end..].trim_start())
}

/// The work counter of one resolution (members, elements and compared bytes; a record is far smaller
/// than what would overflow it).
struct Scan(u64);

impl Scan {
    #[inline]
    fn add(&mut self, n: usize) {
        self.0 = self.0.wrapping_add(n as u64);
    }

    /// A member lookup scans the object's members.
    #[inline]
    fn member<'r, 'a>(&mut self, obj: &'r Map<'a>, key: &str) -> Option<&'r Json<'a>> {
        self.add(obj.len());
        member(obj, key)
    }

    /// Converting a node reads every element of an array.
    #[inline]
    fn value(&mut self, v: &Json<'_>) -> Value {
        if let Json::Array(items) = v {
            self.add(items.len());
        }
        json_to_value(v)
    }
}

fn walk(obj: &Map<'_>, segs: &[Segment], scan: &mut Scan) -> Value {
    let mut found = Found::default();
    collect_in(obj, segs, &mut found, scan);
    found.into_value(scan)
}

/// The JSON nodes a path reached.
#[derive(Default)]
enum Found<'r> {
    #[default]
    None,
    One(&'r Json<'r>),
    Many(Vec<&'r Json<'r>>),
}

impl<'r> Found<'r> {
    fn push(&mut self, v: &'r Json<'r>) {
        *self = match std::mem::take(self) {
            Found::None => Found::One(v),
            Found::One(first) => Found::Many(vec![first, v]),
            Found::Many(mut all) => {
                all.push(v);
                Found::Many(all)
            }
        };
    }

    fn into_value(self, scan: &mut Scan) -> Value {
        match self {
            Found::None => Value::Null,
            Found::One(v) => scan.value(v),
            Found::Many(all) => {
                let vals: Vec<String> = all.into_iter().flat_map(|v| scan.value(v).values().to_vec()).collect();
                if vals.is_empty() { Value::Null } else { Value::Multi(vals) }
            }
        }
    }
}

fn collect_in<'r>(obj: &'r Map<'r>, segs: &[Segment], out: &mut Found<'r>, scan: &mut Scan) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    let Some(child) = scan.member(obj, &seg.name) else {
        return;
    };
    if let Some(f) = &seg.filter {
        let elems = match child {
            Json::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        if let Some(hit) = elems.iter().find(|e| matches(e, f, scan)) {
            collect(hit, rest, out, scan);
        }
        return;
    }
    match child {
        Json::Array(items) if !rest.is_empty() => {
            scan.add(items.len());
            items.iter().for_each(|e| collect(e, rest, out, scan));
        }
        other => collect(other, rest, out, scan),
    }
}

fn collect<'r>(node: &'r Json<'r>, rest: &[Segment], out: &mut Found<'r>, scan: &mut Scan) {
    if rest.is_empty() {
        out.push(node);
    } else if let Json::Object(obj) = node {
        collect_in(obj, rest, out, scan);
    }
}

/// Whether `elem` passes the filter; comparing strings counts their length.
fn matches(elem: &Json<'_>, f: &Filter, scan: &mut Scan) -> bool {
    let Some(v) = elem.as_object().and_then(|o| scan.member(o, &f.attr)) else {
        return false;
    };
    if let Json::Str(have) = v {
        scan.add(have.len());
    }
    match (&f.value, v) {
        (FilterValue::Str(want), Json::Str(have)) => have.to_lowercase() == want.to_lowercase(),
        (FilterValue::Bool(want), Json::Bool(have)) => want == have,
        (FilterValue::Bool(want), Json::Str(have)) => have.eq_ignore_ascii_case(if *want { "true" } else { "false" }),
        (FilterValue::Num(want), Json::Number(have)) => have.as_f64() == Some(*want),
        (FilterValue::Num(want), Json::Str(have)) => have.trim().parse::<f64>().ok() == Some(*want),
        (FilterValue::Str(want), other @ (Json::Bool(_) | Json::Number(_))) => {
            json_to_value(other).as_str().is_some_and(|s| s.eq_ignore_ascii_case(want))
        }
        _ => false,
    }
}

/// JSON → engine value (see the module header for the rules).
pub(crate) fn json_to_value(v: &Json<'_>) -> Value {
    match v {
        Json::Array(items) => {
            let vals: Vec<String> = items.iter().filter_map(scalar).collect();
            if vals.is_empty() { Value::Null } else { Value::Multi(vals) }
        }
        other => scalar(other).map_or(Value::Null, Value::Str),
    }
}

/// A scalar's string form; an object with a `value` member (enterprise `manager`) reads as that value.
fn scalar(v: &Json<'_>) -> Option<String> {
    match v {
        Json::Object(o) => member(o, "value").and_then(scalar),
        other => scalar_text(other),
    }
}
