//! A compiled `regexPattern` (Replace) with its price in the evaluation budget (`budget.rs`).
//!
//! The `regex` crate never backtracks, but a search still costs up to (input length × automaton size):
//! `\w{0,200}z` compiles to about 63,000 states, and one pass over 64 KiB of `a` took 0.3 s here. So a
//! pattern is compiled with a size limit ([`MAX_PATTERN_BYTES`] of automaton, which refuses that one) and
//! knows its state count; each pass is charged `(input + 1) × (states + POSITION_COST)` before it runs,
//! and a pattern that is not a constant (compiled per evaluation) is charged for its compilation too.
//!
//! Design constraints: the state count comes from building the same Thompson NFA the `regex` crate builds
//! (`regex-automata`, which it uses internally); constant patterns pay that once, at parse time.

use regex::{Regex, RegexBuilder};
use regex_automata::nfa::thompson::{Compiler, NFA};

/// The largest automaton a pattern may compile to, in bytes of heap (the `regex` crate's own default is
/// 10 MiB): 1 MiB holds about twenty repetitions of Unicode `\w` (`\w{0,20}`), which compile in about
/// 10 ms.
pub const MAX_PATTERN_BYTES: usize = 1024 * 1024;

/// Work per input position on top of the automaton's states: the fixed cost of each step of a search
/// (it dominates for tiny patterns that match at every position, such as `[a-z]*`).
const POSITION_COST: u64 = 16;

/// Work per automaton state of compiling a pattern at evaluation time (measured: a few microseconds per
/// state for the NFA and the regex together).
const COMPILE_COST_PER_STATE: u64 = 4096;

/// A compiled pattern and the size of its automaton.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) regex: Regex,
    states: u64,
}

impl Pattern {
    /// Compiles `source`; the error is the `regex` crate's explanation (its last line).
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        let regex = RegexBuilder::new(source).size_limit(MAX_PATTERN_BYTES).build().map_err(|e| last_line(&e))?;
        let nfa: NFA = Compiler::new()
            .configure(NFA::config().nfa_size_limit(Some(MAX_PATTERN_BYTES)))
            .build(source)
            .map_err(|e| e.to_string())?;
        Ok(Self { regex, states: u64::try_from(nfa.states().len()).unwrap_or(u64::MAX) })
    }

    /// The work of one search pass over `input_len` bytes.
    pub(crate) fn search_cost(&self, input_len: usize) -> u64 {
        let positions = u64::try_from(input_len).unwrap_or(u64::MAX).saturating_add(1);
        positions.saturating_mul(self.states.saturating_add(POSITION_COST))
    }

    /// The work of compiling this pattern (charged when it is compiled during an evaluation).
    pub(crate) fn compile_cost(&self) -> u64 {
        self.states.saturating_mul(COMPILE_COST_PER_STATE)
    }
}

fn last_line(e: &regex::Error) -> String {
    e.to_string().lines().last().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_costs_input_times_automaton() {
        let small = Pattern::compile("[()\\s-]+").unwrap();
        let big = Pattern::compile("\\w{0,10}z").unwrap();
        assert!(small.search_cost(1000) < 100_000, "{}", small.search_cost(1000));
        // Ten Unicode `\w`s are thousands of states: one pass over 64 KiB is priced past the budget.
        assert!(big.search_cost(64 * 1024) > crate::expr::budget::MAX_WORK);
        assert_eq!(small.search_cost(0), small.states + POSITION_COST);
    }

    #[test]
    fn huge_automata_are_refused_with_the_crates_reason() {
        let err = Pattern::compile("\\w{0,200}z").unwrap_err();
        assert!(err.contains("size limit"), "{err}");
        let err = Pattern::compile("(").unwrap_err();
        assert!(err.contains("unclosed group"), "{err}");
    }
}
