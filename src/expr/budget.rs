//! The limits of one evaluation (issue 15, hardening): how large a value may grow and how much work one
//! evaluation may do. [`super::evaluate`] enforces them itself, so the worker, `PUT …/schema` and
//! `parseExpression` share them, and a breach is an ordinary [`super::EvalError`] naming the limit (the
//! worker logs that operation as a `failure` and goes on with the batch).
//!
//! Why: without them `[userName]` wrapped seven times in `Replace(E, "a", , , "aaaaaaaaaa", , )` made a
//! 100 MB value, nine levels aborted the process, and a `Join` of a few regex replacements on a
//! 1,000,000-character attribute kept a request busy for most of a minute.
//!
//! The model:
//! * **Values.** Every value an evaluation reads or makes (an attribute, a constant, a function's result,
//!   hence the final result) holds at most [`MAX_VALUE_BYTES`] of text. Functions that can multiply their
//!   input (`Replace`, `Join`) check while they build, so nothing much larger is ever allocated. Entra's
//!   own attributes are at most a few KiB long; real records never come near.
//! * **Work.** One evaluation may process at most [`MAX_WORK`] bytes of text. Every node of the expression
//!   counts [`STEP_COST`], every value the bytes it holds, an attribute read the record members and array
//!   elements it scans, and a regular-expression pass its input once per state of the pattern's automaton
//!   (the `regex` crate's worst case grows with both; see `pattern.rs`). Measured on this machine, a
//!   budget's worth of the costliest of these takes tens of milliseconds.
//!
//! Design constraints: the checks run on every node of every mapping of every record (tens of thousands
//! of records per second), so they are integer additions and comparisons; no clock is read, and tests
//! assert the counters, never elapsed time.

use std::fmt;

/// The most text one value may hold: 64 KiB (a multi-valued attribute counts its values plus one byte
/// between each two).
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The most work one evaluation may do, in bytes of text processed: 64 MiB.
pub const MAX_WORK: u64 = 64 * 1024 * 1024;

/// The work one node of the expression (a call, an attribute read, a constant) counts besides the bytes it
/// produces: roughly what copying this many bytes costs.
pub const STEP_COST: u64 = 128;

/// A limit an evaluation would break; its `Display` is the end of the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Value,
    Work,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Value => write!(f, "the value would exceed 64 KiB, the most an expression value may hold"),
            Limit::Work => {
                write!(f, "the evaluation would process more than 64 MiB of text, the limit of one evaluation")
            }
        }
    }
}

/// The work an evaluation has done so far.
#[derive(Debug, Default)]
pub(crate) struct Work {
    done: u64,
}

impl Work {
    /// Counts `units` more; fails once the total would pass [`MAX_WORK`].
    #[inline]
    pub(crate) fn spend(&mut self, units: u64) -> Result<(), Limit> {
        let done = self.done.saturating_add(units);
        if done > MAX_WORK {
            return Err(Limit::Work);
        }
        self.done = done;
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn done(&self) -> u64 {
        self.done
    }
}

/// `len` bytes as work units.
#[inline]
pub(crate) fn units(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Fails when a value of `len` bytes would break [`MAX_VALUE_BYTES`].
#[inline]
pub(crate) fn check_len(len: usize) -> Result<(), Limit> {
    if len > MAX_VALUE_BYTES { Err(Limit::Value) } else { Ok(()) }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
