//! Runtime values of the expression language (docs/fidelity.md B.5).
//!
//! Entra's engine only knows strings: a boolean is `"True"`/`"False"`, a date is `M/d/yyyy h:mm:ss tt`, a
//! number is its decimal text. The only other shapes are "absent" ([`Value::Null`], which the provisioning
//! service skips instead of flowing) and multi-valued attributes ([`Value::Multi`]).
//!
//! Design constraints: cheap to move, no interior references into the record (the engine keeps results
//! after the record is gone).

/// The result of evaluating an expression or one of its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Absent: a missing attribute, a JSON `null`, or a function result that has no value.
    Null,
    /// A single string (booleans, numbers and dates are strings too).
    Str(String),
    /// A multi-valued attribute (e.g. an array of scalars in the SCIM record, or `Split`'s result).
    Multi(Vec<String>),
}

impl Value {
    /// `"True"` or `"False"`, the engine's boolean representation.
    pub fn bool(b: bool) -> Self {
        Value::Str(if b { "True" } else { "False" }.to_owned())
    }

    /// True for [`Value::Null`] and for a multi-valued attribute without values.
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(_) => false,
            Value::Multi(v) => v.is_empty(),
        }
    }

    /// True when null, the empty string, or a multi-valued attribute without values.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
        }
    }

    /// The single-valued view: the string, the first value of a multi-valued attribute, or `None`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s),
            Value::Multi(v) => v.first().map(String::as_str),
        }
    }

    /// All values: none for null, one for a string, every value of a multi-valued attribute.
    pub fn values(&self) -> &[String] {
        match self {
            Value::Null => &[],
            Value::Str(s) => std::slice::from_ref(s),
            Value::Multi(v) => v,
        }
    }

    /// The bytes of text the value holds, counting one between each two values of a multi-valued one (so
    /// splitting a string never makes it larger): what the evaluation limits measure.
    pub(crate) fn text_len(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::Str(s) => s.len(),
            Value::Multi(v) => v.iter().map(|s| s.len() + 1).sum::<usize>().saturating_sub(1),
        }
    }

    /// Applies a fallible string transformation to every value, keeping null null.
    pub(crate) fn try_map_str<E>(self, mut f: impl FnMut(&str) -> Result<String, E>) -> Result<Value, E> {
        Ok(match self {
            Value::Null => Value::Null,
            Value::Str(s) => Value::Str(f(&s)?),
            Value::Multi(v) => Value::Multi(v.iter().map(|s| f(s)).collect::<Result<_, _>>()?),
        })
    }

    /// Applies a string transformation to every value, keeping null null.
    pub(crate) fn map_str(self, mut f: impl FnMut(&str) -> String) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Str(s) => Value::Str(f(&s)),
            Value::Multi(v) => Value::Multi(v.iter().map(|s| f(s)).collect()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
