//! The interface list of a [`Snapshot`](crate::Snapshot): sorted by index and
//! stored in shared chunks, so a state made from another by a targeted read
//! costs the chunks it changes, not the whole list.
//!
//! Why not a `Vec<Arc<Interface>>`: a targeted read replaces one or a few
//! interfaces, and with a flat list the merge still cloned every `Arc` of
//! the old state (one atomic increment on a separate cache line each), the
//! old state's release decremented them all again, and the diff read every
//! interface's index. `perf record` of the change-latency worker with 4,005
//! interfaces put 28 % of the process's samples in those three
//! (`refresh::merge` 17.7 %, `Arc::drop_slow` 6 %, `Snapshot::diff` 4.6 %;
//! commit `6b000d4`), about 300 µs of a change's latency. Here a merge
//! clones the outer list of chunks (one increment per [`CHUNK`]
//! interfaces) and rebuilds only the chunks holding a target, and the diff
//! and the comparison of two states skip a chunk both share by pointer. No
//! crate of the field fits: `im`'s and `rpds`'s vectors are indexed by
//! position and their ordered maps do not expose shared subtrees to a diff.
//!
//! A chunk only shrinks by removals and grows by at most [`MAX_TARGETS`]
//! insertions per merge (split past twice [`CHUNK`]); every full read builds
//! the list afresh, evenly chunked.
//!
//! [`MAX_TARGETS`]: crate::MAX_TARGETS

use core::fmt;
use core::hash::{Hash, Hasher};
use core::iter::FusedIterator;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::refresh::MAX_TARGETS;
use crate::snapshot::Interface;

/// Interfaces per chunk of a freshly built list: with 4,000 interfaces a
/// merge touches 63 chunk pointers and rebuilds one chunk of 64.
pub(crate) const CHUNK: usize = 64;

/// A run of interfaces, sorted by index, never empty.
type Chunk = Vec<Arc<Interface>>;

/// The sorted interface list of a snapshot (indexes unique, every chunk
/// non-empty, chunks in index order).
#[derive(Clone, Default)]
pub(crate) struct Table {
    chunks: Vec<Arc<Chunk>>,
    len: usize,
}

impl Table {
    /// The list of `sorted` (by index, indexes unique), evenly chunked.
    pub(crate) fn from_sorted(sorted: Vec<Arc<Interface>>) -> Self {
        debug_assert!(sorted.windows(2).all(|p| p[0].index < p[1].index));
        let len = sorted.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut rest = sorted.into_iter();
        while rest.len() > 0 {
            chunks.push(Arc::new(rest.by_ref().take(CHUNK).collect()));
        }
        Table { chunks, len }
    }

    /// How many interfaces it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The interfaces in index order, shared.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: self.chunks.iter(),
            chunk: [].iter(),
            left: self.len,
        }
    }

    /// The position of the chunk that holds `index`, or would: the first
    /// whose last index is not below it, else the last one. `None` when the
    /// list is empty.
    fn chunk_for(&self, index: u32) -> Option<usize> {
        let last = self.chunks.len().checked_sub(1)?;
        let pos = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|i| i.index < index));
        Some(pos.min(last))
    }

    /// The interface with this index, in `O(log n)`.
    pub(crate) fn get(&self, index: u32) -> Option<&Arc<Interface>> {
        let chunk = &self.chunks[self.chunk_for(index)?];
        chunk
            .binary_search_by_key(&index, |i| i.index)
            .ok()
            .map(|pos| &chunk[pos])
    }

    /// The list without any interface whose index is in `targets` (sorted),
    /// with `found` (sorted, each index in `targets`) in their place. Costs
    /// the chunks the targets fall in plus one pointer per other chunk.
    pub(crate) fn replace<'f, F>(&self, targets: &[u32], found: F) -> Table
    where
        F: IntoIterator<Item = &'f Arc<Interface>>,
        F::IntoIter: Clone,
    {
        let found = found.into_iter();
        debug_assert!(found
            .clone()
            .all(|f| targets.binary_search(&f.index).is_ok()));
        if self.chunks.is_empty() {
            return Table::from_sorted(found.cloned().collect());
        }
        // Targets are sorted and `chunk_for` is monotone: so are these.
        let mut touched: SmallVec<[usize; MAX_TARGETS]> =
            targets.iter().filter_map(|&t| self.chunk_for(t)).collect();
        touched.dedup();
        let mut chunks = Vec::with_capacity(self.chunks.len() + 1);
        let mut len = 0;
        let mut fresh = found.peekable();
        for (k, chunk) in self.chunks.iter().enumerate() {
            if touched.binary_search(&k).is_err() {
                len += chunk.len();
                chunks.push(Arc::clone(chunk));
                continue;
            }
            let mut rebuilt = Vec::with_capacity(chunk.len() + targets.len());
            for old in chunk.iter() {
                while let Some(f) = fresh.next_if(|f| f.index < old.index) {
                    rebuilt.push(Arc::clone(f));
                }
                if targets.binary_search(&old.index).is_err() {
                    rebuilt.push(Arc::clone(old));
                }
            }
            // New interfaces past this chunk's last that still belong to it
            // (the next chunk starts after them, or there is none).
            while let Some(f) = fresh.next_if(|f| self.chunk_for(f.index) == Some(k)) {
                rebuilt.push(Arc::clone(f));
            }
            len += rebuilt.len();
            push_split(&mut chunks, rebuilt);
        }
        debug_assert!(fresh.next().is_none(), "every found interface has a chunk");
        Table { chunks, len }
    }

    /// The list without the interfaces `keep` rejects; chunks it keeps
    /// whole stay shared.
    /// `keep` is called once per interface, in index order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Interface) -> bool) {
        let mut len = 0;
        let mut chunks = Vec::with_capacity(self.chunks.len());
        for chunk in self.chunks.drain(..) {
            // Copied only from the first interface it drops.
            let mut rebuilt: Option<Chunk> = None;
            for (at, i) in chunk.iter().enumerate() {
                match (keep(i), &mut rebuilt) {
                    (true, Some(r)) => r.push(Arc::clone(i)),
                    (false, None) => rebuilt = Some(chunk[..at].to_vec()),
                    // Kept with the chunk whole so far, or dropped again.
                    _ => {}
                }
            }
            match rebuilt {
                None => {
                    len += chunk.len();
                    chunks.push(chunk);
                }
                Some(r) => {
                    len += r.len();
                    if !r.is_empty() {
                        chunks.push(Arc::new(r));
                    }
                }
            }
        }
        *self = Table { chunks, len };
    }

    /// The interfaces of `self` and `other` side by side, by index, leaving
    /// out every pair both lists share (the same chunk or the same `Arc`):
    /// what differs between them, and pairs that may.
    pub(crate) fn pairs<'a>(&'a self, other: &'a Table) -> Pairs<'a> {
        Pairs {
            a: Cursor::new(&self.chunks),
            b: Cursor::new(&other.chunks),
            #[cfg(test)]
            visited: 0,
        }
    }
}

/// Appends `run` (sorted, following what `chunks` holds) as one chunk, or
/// as several of [`CHUNK`] when it grew past twice that.
fn push_split(chunks: &mut Vec<Arc<Chunk>>, run: Chunk) {
    if run.len() <= 2 * CHUNK {
        if !run.is_empty() {
            chunks.push(Arc::new(run));
        }
        return;
    }
    for piece in run.chunks(CHUNK) {
        chunks.push(Arc::new(piece.to_vec()));
    }
}

impl PartialEq for Table {
    /// Chunk by chunk while both are chunked alike (a shared chunk by
    /// pointer, another as a slice, each `Arc` by pointer first), then
    /// interface by interface.
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        let mut aligned = 0;
        for (a, b) in self.chunks.iter().zip(&other.chunks) {
            if a.len() != b.len() {
                break;
            }
            if !Arc::ptr_eq(a, b) && a != b {
                return false;
            }
            aligned += 1;
        }
        let a = self.chunks[aligned..].iter().flat_map(|c| c.iter());
        let b = other.chunks[aligned..].iter().flat_map(|c| c.iter());
        a.eq(b)
    }
}

impl Eq for Table {}

impl Hash for Table {
    /// The interfaces in order, however they are chunked, as a slice of
    /// them hashes, so equal tables hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len);
        for i in self.iter() {
            i.hash(state);
        }
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`Table`]'s interfaces, shared.
#[derive(Clone)]
pub(crate) struct Iter<'a> {
    chunks: core::slice::Iter<'a, Arc<Chunk>>,
    chunk: core::slice::Iter<'a, Arc<Interface>>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Arc<Interface>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(i) = self.chunk.next() {
                self.left -= 1;
                return Some(i);
            }
            self.chunk = self.chunks.next()?.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// One step of [`Table::pairs`].
pub(crate) enum Pair<'a> {
    /// Only the first list has this index.
    Old(&'a Arc<Interface>),
    /// Only the second list has this index.
    New(&'a Arc<Interface>),
    /// Both have it, as different `Arc`s (their values may still be equal).
    Both(&'a Arc<Interface>, &'a Arc<Interface>),
}

/// A position in a chunked list: the rest of the current chunk, and the
/// chunks after it.
struct Cursor<'a> {
    /// The current chunk, while the cursor is at its start.
    at_start: Option<&'a Arc<Chunk>>,
    here: &'a [Arc<Interface>],
    rest: &'a [Arc<Chunk>],
}

impl<'a> Cursor<'a> {
    fn new(chunks: &'a [Arc<Chunk>]) -> Self {
        let mut c = Cursor {
            at_start: None,
            here: &[],
            rest: chunks,
        };
        c.skip_chunk();
        c
    }

    fn peek(&self) -> Option<&'a Arc<Interface>> {
        self.here.first()
    }

    fn advance(&mut self) {
        self.at_start = None;
        self.here = self.here.get(1..).unwrap_or_default();
        if self.here.is_empty() {
            self.skip_chunk();
        }
    }

    /// The chunk this cursor is at the start of.
    fn chunk_start(&self) -> Option<&'a Arc<Chunk>> {
        self.at_start
    }

    /// Moves to the start of the next chunk.
    fn skip_chunk(&mut self) {
        match self.rest.split_first() {
            Some((next, rest)) => {
                self.at_start = Some(next);
                self.here = next;
                self.rest = rest;
            }
            None => {
                self.at_start = None;
                self.here = &[];
            }
        }
    }
}

/// Iterator of [`Table::pairs`].
pub(crate) struct Pairs<'a> {
    a: Cursor<'a>,
    b: Cursor<'a>,
    /// Interfaces looked at one by one, for the tests of what sharing
    /// saves.
    #[cfg(test)]
    visited: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Pair<'a>> {
        loop {
            // Both at the start of one shared chunk: its interfaces are
            // the same on both sides.
            if let (Some(x), Some(y)) = (self.a.chunk_start(), self.b.chunk_start()) {
                if Arc::ptr_eq(x, y) {
                    self.a.skip_chunk();
                    self.b.skip_chunk();
                    continue;
                }
            }
            #[cfg(test)]
            {
                self.visited += 1;
            }
            let (x, y) = match (self.a.peek(), self.b.peek()) {
                (None, None) => return None,
                (Some(x), None) => {
                    self.a.advance();
                    return Some(Pair::Old(x));
                }
                (None, Some(y)) => {
                    self.b.advance();
                    return Some(Pair::New(y));
                }
                (Some(x), Some(y)) => (x, y),
            };
            match x.index.cmp(&y.index) {
                core::cmp::Ordering::Less => {
                    self.a.advance();
                    return Some(Pair::Old(x));
                }
                core::cmp::Ordering::Greater => {
                    self.b.advance();
                    return Some(Pair::New(y));
                }
                core::cmp::Ordering::Equal => {
                    self.a.advance();
                    self.b.advance();
                    if !Arc::ptr_eq(x, y) {
                        return Some(Pair::Both(x, y));
                    }
                }
            }
        }
    }
}

/// The interfaces of a [`Snapshot`](crate::Snapshot), sorted by index: a
/// view that iterates (`for i in snapshot.interfaces()`), counts and looks
/// up without copying. Each interface is shared with the snapshots it did
/// not change in.
#[derive(Clone, Copy)]
pub struct Interfaces<'a> {
    table: &'a Table,
}

impl<'a> Interfaces<'a> {
    pub(crate) fn new(table: &'a Table) -> Self {
        Interfaces { table }
    }

    /// How many interfaces there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The interfaces in index order.
    #[must_use]
    pub fn iter(&self) -> InterfacesIter<'a> {
        InterfacesIter(self.table.iter())
    }

    /// The interface with the lowest index.
    #[must_use]
    pub fn first(&self) -> Option<&'a Interface> {
        self.iter().next()
    }

    /// The interface at this position in index order (0 is the first), in
    /// time linear in the number of chunks, not of interfaces. To find an
    /// interface by its index, use [`Snapshot::by_index`](crate::Snapshot::by_index).
    #[must_use]
    pub fn get(&self, position: usize) -> Option<&'a Interface> {
        let mut rest = position;
        for chunk in &self.table.chunks {
            match chunk.get(rest) {
                Some(i) => return Some(i),
                None => rest -= chunk.len(),
            }
        }
        None
    }
}

impl<'a> IntoIterator for Interfaces<'a> {
    type Item = &'a Interface;
    type IntoIter = InterfacesIter<'a>;

    fn into_iter(self) -> InterfacesIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Interfaces<'a> {
    type Item = &'a Interface;
    type IntoIter = InterfacesIter<'a>;

    fn into_iter(self) -> InterfacesIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Interfaces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.table, f)
    }
}

/// Iterator over a snapshot's interfaces in index order (see
/// [`Interfaces`]).
pub struct InterfacesIter<'a>(Iter<'a>);

impl<'a> Iterator for InterfacesIter<'a> {
    type Item = &'a Interface;

    fn next(&mut self) -> Option<&'a Interface> {
        self.0.next().map(|i| &**i)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for InterfacesIter<'_> {}
impl FusedIterator for InterfacesIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(indexes: impl IntoIterator<Item = u32>) -> Table {
        Table::from_sorted(
            indexes
                .into_iter()
                .map(|i| Arc::new(Interface::new(i, format!("if{i}"))))
                .collect(),
        )
    }

    fn indexes(t: &Table) -> Vec<u32> {
        t.iter().map(|i| i.index).collect()
    }

    fn renamed(i: u32, name: &str) -> Arc<Interface> {
        Arc::new(Interface::new(i, name))
    }

    #[test]
    fn a_fresh_list_is_evenly_chunked_and_found_by_index() {
        let t = table((1..=200).map(|i| i * 2));
        assert_eq!(t.chunks.len(), 200usize.div_ceil(CHUNK));
        assert!(t.chunks[..3].iter().all(|c| c.len() == CHUNK));
        assert_eq!(t.len(), 200);
        assert_eq!(t.iter().len(), 200);
        let mut it = t.iter();
        it.nth(CHUNK);
        assert_eq!(
            it.len(),
            200 - CHUNK - 1,
            "the count goes down across chunks"
        );
        for i in 1..=200 {
            assert_eq!(t.get(i * 2).map(|f| f.index), Some(i * 2));
            assert!(t.get(i * 2 + 1).is_none());
        }
        assert!(t.get(0).is_none() && t.get(1000).is_none());
        assert!(Table::default().get(1).is_none());
    }

    #[test]
    fn replacing_shares_every_chunk_no_target_falls_in() {
        let old = table(1..=300);
        let new = old.replace(&[70], &[renamed(70, "x")]);
        assert_eq!(indexes(&new), indexes(&old));
        assert_eq!(new.get(70).map(|i| i.name.as_str()), Some("x"));
        let shared = old
            .chunks
            .iter()
            .zip(&new.chunks)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, old.chunks.len() - 1, "only 70's chunk is rebuilt");
    }

    #[test]
    fn replacing_inserts_removes_and_appends_in_order() {
        let old = table([10, 20, 30]);
        let new = old.replace(
            &[5, 20, 25, 99],
            &[renamed(5, "a"), renamed(25, "b"), renamed(99, "c")],
        );
        assert_eq!(indexes(&new), [5, 10, 25, 30, 99]);
        assert_eq!(new.len(), 5);
        let emptied = new.replace(&[5, 10, 25, 30, 99], &[]);
        assert_eq!(emptied.len(), 0);
        assert!(emptied.chunks.is_empty(), "no empty chunk is kept");
        let refilled = emptied.replace(&[7], &[renamed(7, "d")]);
        assert_eq!(indexes(&refilled), [7]);
    }

    #[test]
    fn insertions_between_chunks_and_past_the_end_keep_the_order() {
        // Chunks hold 0, 2, ..; odd indexes fall between them.
        let old = table((0..(3 * CHUNK as u32)).map(|i| i * 2));
        let boundary = old.chunks[0].last().map_or(0, |i| i.index) + 1;
        let end = 10_000;
        let new = old.replace(
            &[boundary, end],
            &[renamed(boundary, "b"), renamed(end, "e")],
        );
        let got = indexes(&new);
        assert!(got.windows(2).all(|p| p[0] < p[1]), "sorted");
        assert_eq!(got.len(), old.len() + 2);
        assert!(new.get(boundary).is_some() && new.get(end).is_some());
    }

    #[test]
    fn a_chunk_is_split_only_past_twice_its_size() {
        let one_chunk = |n: usize| Table {
            chunks: vec![Arc::new((0..n as u32).map(|i| renamed(i, "f")).collect())],
            len: n,
        };
        let grown = one_chunk(2 * CHUNK - 1).replace(&[1000], &[renamed(1000, "x")]);
        assert_eq!(grown.chunks.len(), 1, "{} fit in one chunk", 2 * CHUNK);
        let full = one_chunk(2 * CHUNK);
        let split = full.replace(&[5000], &[renamed(5000, "x")]);
        let sizes: Vec<usize> = split.chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [CHUNK, CHUNK, 1]);
    }

    #[test]
    fn a_chunk_that_grows_past_twice_its_size_is_split() {
        let mut t = table([0, 10_000]);
        let mut next = 1;
        while next < 400 {
            let add: Vec<u32> = (next..next + 8).collect();
            let found: Vec<_> = add.iter().map(|&i| renamed(i, &format!("n{i}"))).collect();
            t = t.replace(&add, &found);
            next += 8;
        }
        assert_eq!(t.len(), 2 + (next as usize - 1));
        assert!(t
            .chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= 2 * CHUNK + 8));
        let got = indexes(&t);
        assert!(got.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn pairs_skip_what_both_share_and_equality_ignores_chunking() {
        let old = table(1..=300);
        let new = old.replace(&[70, 301], &[renamed(70, "x"), renamed(301, "y")]);
        let pairs: Vec<(Option<u32>, Option<u32>)> = old
            .pairs(&new)
            .map(|p| match p {
                Pair::Old(a) => (Some(a.index), None),
                Pair::New(b) => (None, Some(b.index)),
                Pair::Both(a, b) => (Some(a.index), Some(b.index)),
            })
            .collect();
        assert_eq!(pairs, [(Some(70), Some(70)), (None, Some(301))]);
        // Only the chunks the replacement rebuilt are walked one by one:
        // 70's and the last one, which 301 joined.
        let mut walk = old.pairs(&new);
        walk.by_ref().for_each(drop);
        let last = old.chunks.last().map_or(0, |c| c.len());
        assert!(
            (CHUNK..=CHUNK + last + 2).contains(&walk.visited),
            "walked {} interfaces: the rebuilt chunks, no other",
            walk.visited
        );
        // The same interfaces chunked differently are equal and hash alike.
        let regrown = Table {
            chunks: vec![Arc::new(old.iter().cloned().collect())],
            len: old.len(),
        };
        assert_eq!(regrown, old);
        let hash = |t: &Table| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&regrown), hash(&old));
        assert_ne!(new, old);
        assert_ne!(hash(&new), hash(&old), "the interfaces are hashed");
    }

    #[test]
    fn retain_keeps_whole_chunks_shared_and_drops_empty_ones() {
        let old = table(1..=200);
        let mut kept = old.clone();
        kept.retain(|i| i.index > CHUNK as u32 && i.index != 150);
        assert_eq!(kept.len(), 200 - CHUNK - 1);
        assert_eq!(
            kept.chunks.len(),
            old.chunks.len() - 1,
            "the first chunk is gone"
        );
        assert!(Arc::ptr_eq(&kept.chunks[0], &old.chunks[1]));
        assert!(kept.get(150).is_none() && kept.get(151).is_some());
    }

    #[test]
    fn the_view_counts_iterates_and_gets_by_position() {
        let t = table([3, 5, 8]);
        let v = Interfaces::new(&t);
        assert_eq!((v.len(), v.is_empty()), (3, false));
        assert_eq!(v.first().map(|i| i.index), Some(3));
        assert_eq!(v.get(2).map(|i| i.index), Some(8));
        assert!(v.get(3).is_none());
        assert_eq!(
            v.into_iter().map(|i| i.index).collect::<Vec<_>>(),
            [3, 5, 8]
        );
        assert!(Interfaces::new(&Table::default()).is_empty());
        // Across chunks.
        let big = table(0..200);
        let v = Interfaces::new(&big);
        for pos in [0, CHUNK - 1, CHUNK, CHUNK + 5, 2 * CHUNK + 1, 199] {
            assert_eq!(v.get(pos).map(|i| i.index), Some(pos as u32));
        }
        assert!(v.get(200).is_none());
        let mut it = v.iter();
        assert_eq!(it.size_hint(), (200, Some(200)));
        it.nth(CHUNK);
        assert_eq!(it.len(), 200 - CHUNK - 1);
    }

    mod properties {
        use std::collections::BTreeMap;

        use proptest::collection::{btree_set, vec};
        use proptest::prelude::*;

        use super::*;

        /// One targeted replacement: up to 8 indexes, and for each whether
        /// it is found (with a name tag) or gone.
        fn step() -> impl Strategy<Value = Vec<(u32, Option<u8>)>> {
            vec((0u32..1200, proptest::option::of(any::<u8>())), 0..=8)
        }

        fn check_invariants(t: &Table) -> Result<(), TestCaseError> {
            prop_assert!(t.chunks.iter().all(|c| !c.is_empty()), "no empty chunk");
            let all: Vec<u32> = t.iter().map(|i| i.index).collect();
            prop_assert!(all.windows(2).all(|p| p[0] < p[1]), "sorted, unique");
            prop_assert_eq!(all.len(), t.len());
            prop_assert_eq!(t.chunks.iter().map(|c| c.len()).sum::<usize>(), t.len());
            Ok(())
        }

        proptest! {
            /// Whatever the chunking, a list after any replacements holds
            /// what a plain map given the same replacements holds, finds
            /// each index, and its pairs with the list before are exactly
            /// the differences.
            #[test]
            fn replacements_agree_with_a_plain_map(
                start in btree_set(0u32..1200, 0..400),
                steps in vec(step(), 1..12),
            ) {
                let mut model: BTreeMap<u32, String> =
                    start.iter().map(|&i| (i, format!("if{i}"))).collect();
                let mut t = table(start.iter().copied());
                for step in steps {
                    let mut targets: Vec<u32> = step.iter().map(|(i, _)| *i).collect();
                    targets.sort_unstable();
                    targets.dedup();
                    let mut found: BTreeMap<u32, String> = BTreeMap::new();
                    for (i, tag) in &step {
                        if let Some(tag) = tag {
                            found.insert(*i, format!("if{i}.{tag}"));
                        }
                    }
                    let arcs: Vec<Arc<Interface>> =
                        found.iter().map(|(i, n)| renamed(*i, n)).collect();
                    let next = t.replace(&targets, &arcs);
                    let before = model.clone();
                    for i in &targets {
                        model.remove(i);
                    }
                    model.extend(found);
                    check_invariants(&next)?;
                    let got: Vec<(u32, String)> =
                        next.iter().map(|i| (i.index, i.name.clone())).collect();
                    let want: Vec<(u32, String)> = model.clone().into_iter().collect();
                    prop_assert_eq!(&got, &want);
                    for i in targets.iter().chain(before.keys()) {
                        prop_assert_eq!(next.get(*i).map(|f| f.name.clone()), model.get(i).cloned());
                    }
                    // Pairs: every index in one list only, and every index
                    // in both whose interface differs, nothing else.
                    let mut diff: Vec<(u32, bool, bool)> = Vec::new();
                    for p in t.pairs(&next) {
                        match p {
                            Pair::Old(a) => diff.push((a.index, true, false)),
                            Pair::New(b) => diff.push((b.index, false, true)),
                            Pair::Both(a, b) => {
                                prop_assert_eq!(a.index, b.index);
                                if a != b {
                                    diff.push((a.index, true, true));
                                }
                            }
                        }
                    }
                    let keys: std::collections::BTreeSet<u32> =
                        before.keys().chain(model.keys()).copied().collect();
                    let want_diff: Vec<(u32, bool, bool)> = keys
                        .into_iter()
                        .filter(|k| before.get(k) != model.get(k))
                        .map(|k| (k, before.contains_key(&k), model.contains_key(&k)))
                        .collect();
                    prop_assert_eq!(diff, want_diff);
                    prop_assert_eq!(t == next, before == model);
                    t = next;
                }
            }
        }
    }
}
