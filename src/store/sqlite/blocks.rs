//! Compressed blocks of log entry bodies: the bodies of the entries one batch wrote, compressed together
//! (zstd, level 1). A feed's records repeat each other — attribute values, addresses, organisation, the
//! same steps — so a block costs a fraction of its bodies (about 823 → 55 bytes an entry for the synthetic
//! workload of BENCHMARKS.md; real feeds repeat less). Entries point at their block and slot; a block is
//! deleted with its last entry (a trigger counts them down).
//!
//! Readers decompress a block once per query ([`BlockCache`]): a page of entries written together comes
//! from one or two blocks.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use super::super::StoreError;

/// Version of the block format: this byte, then the zstd frame of the postcard list of bodies.
const BLOCK_FORM: u8 = 1;
/// Most bodies in one block (a batch of 500 operations writes one or two).
pub(super) const MAX_BODIES: usize = 512;
/// zstd's fastest level: almost all of the ratio, at several hundred MB/s.
const LEVEL: i32 = 1;

/// Stores `bodies` as one block; returns its id (inside the caller's transaction).
pub(super) fn insert(conn: &Connection, bodies: &[Vec<u8>]) -> Result<i64, StoreError> {
    let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
    let plain = postcard::to_allocvec(&refs).map_err(|e| StoreError::Corrupt(format!("encoding a log block: {e}")))?;
    let mut blob = Vec::with_capacity(plain.len() / 4 + 16);
    blob.push(BLOCK_FORM);
    zstd::stream::copy_encode(plain.as_slice(), &mut blob, LEVEL)?;
    conn.prepare_cached("INSERT INTO log_block (live, body) VALUES (?1, ?2)")?
        .execute(params![i64::try_from(bodies.len()).unwrap_or(i64::MAX), blob])?;
    Ok(conn.last_insert_rowid())
}

/// Decompressed blocks by id, for the rows of one query.
#[derive(Debug, Default)]
pub(super) struct BlockCache {
    blocks: HashMap<i64, Arc<Vec<Vec<u8>>>>,
}

impl BlockCache {
    /// Body `slot` of block `block`.
    pub(super) fn body(&mut self, conn: &Connection, block: i64, slot: i64) -> Result<Arc<Vec<Vec<u8>>>, StoreError> {
        if let Some(b) = self.blocks.get(&block) {
            return Ok(Arc::clone(b));
        }
        let blob: Vec<u8> = conn
            .prepare_cached("SELECT body FROM log_block WHERE id = ?1")?
            .query_row(params![block], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("log block {block} is missing (slot {slot})")))?;
        let corrupt = |what: String| StoreError::Corrupt(format!("log block {block}: {what}"));
        let bodies: Vec<Vec<u8>> = match blob.split_first() {
            Some((&BLOCK_FORM, frame)) => {
                let plain = zstd::stream::decode_all(frame).map_err(|e| corrupt(e.to_string()))?;
                postcard::from_bytes(&plain).map_err(|e| corrupt(e.to_string()))?
            }
            _ => return Err(corrupt("unknown block form".into())),
        };
        let bodies = Arc::new(bodies);
        self.blocks.insert(block, Arc::clone(&bodies));
        Ok(bodies)
    }
}
