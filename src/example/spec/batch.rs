//! The batch parser: many `Example`s into one [`ParsedBatch`] by a spec's
//! entries, in three passes (check each record and write fixed-size
//! values into their slots; size the variable-length values; copy them
//! into place), each spread over rayon's threads in runs of records.
//!
//! Knows the spec's entries, the batch's buffers and how to find features
//! in a payload (the scan, else the general view); knows nothing of files,
//! readers, datasets or TFRecord framing.

use std::sync::Arc;

use rayon::prelude::*;

use super::default::DefaultValue;
use super::entry::{Entry, EntryKind};
use super::parsed::ParsedBatch;
use super::scan::{scan, string_bytes, Feat};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::example::feature_kind::FeatureKind;
use crate::example::view::ExampleView;
use crate::tensor::TensorView;

/// Why a batch failed: the position of the record to blame, when one is,
/// and the error without position context.
pub(crate) type Failure = (Option<usize>, Error);

/// Parses records `0..n`, whose payloads `fetch` gives, into `out`, by
/// the spec `spec_entries`. On failure, the position of the first bad
/// record (when a record is to blame) and the error, without position
/// context. The spec must have been checked.
pub(super) fn fill<'a, F>(
    spec_entries: &Arc<Vec<Entry>>,
    n: usize,
    fetch: F,
    out: &mut ParsedBatch,
    parallel: bool,
) -> Result<(), Failure>
where
    F: Fn(usize) -> Result<&'a [u8]> + Sync,
{
    let entries = &spec_entries[..];
    let k = entries.len();
    out.prepare(spec_entries, n).map_err(|e| (None, e))?;
    let total = n
        .checked_mul(k)
        .ok_or_else(|| (None, Error::invalid_input("batch too large")))?;
    let mut pending: Vec<Pending<'a>> = Vec::new();
    pending.resize_with(total, Pending::default);
    let chunk = if parallel {
        n.div_ceil(rayon::current_num_threads().max(1) * 4).max(8)
    } else {
        n.max(1)
    };

    // Pass 1: parse each record, check every feature against the spec,
    // write stacked values into their slots and note where the rest are.
    {
        let mut stacked: Vec<&mut [u8]> = out
            .columns
            .iter_mut()
            .zip(entries)
            .map(|(c, e)| {
                if e.is_stacked() {
                    c.bytes_mut()
                } else {
                    &mut []
                }
            })
            .collect();
        let mut rest = &mut pending[..];
        let mut works = Vec::with_capacity(n.div_ceil(chunk));
        let mut first = 0;
        while first < n {
            let m = chunk.min(n - first);
            let (mine, tail) = split(std::mem::take(&mut rest), m * k)?;
            rest = tail;
            let mut slots = Vec::with_capacity(k);
            for (col, e) in stacked.iter_mut().zip(entries) {
                let (head, tail) = split(std::mem::take(col), m * e.slot_bytes)?;
                *col = tail;
                slots.push(head);
            }
            works.push(ParseWork {
                first,
                pending: mine,
                slots,
                found: vec![None; k],
            });
            first += m;
        }
        let run = |w: &mut ParseWork<'_, 'a>| -> Result<(), Failure> {
            let m = w.pending.len() / k.max(1);
            for j in 0..m {
                let i = w.first + j;
                let payload = fetch(i).map_err(|e| (Some(i), e))?;
                let pending = w.pending.get_mut(j * k..(j + 1) * k).unwrap_or_default();
                parse_one(entries, payload, j, &mut w.slots, pending, &mut w.found)
                    .map_err(|e| (Some(i), e))?;
            }
            Ok(())
        };
        run_all(&mut works, run)?;
    }

    // Pass 2: sizes of the gathered values, chunk by chunk.
    let chunks = n.div_ceil(chunk);
    let mut starts = vec![Start::default(); (chunks + 1) * k];
    for (e, (entry, col)) in entries.iter().zip(out.columns.iter_mut()).enumerate() {
        if !entry.is_gathered() {
            continue;
        }
        let (mut values, mut bytes, mut longest) = (0usize, 0usize, 0usize);
        let ragged = entry.kind == EntryKind::VarLen;
        if ragged {
            col.row_splits.push(0);
        }
        for i in 0..n {
            if i % chunk == 0 {
                starts[(i / chunk) * k + e] = Start { values, bytes };
            }
            let p = &pending[i * k + e];
            values = values.checked_add(p.values).ok_or_else(overflow)?;
            bytes = bytes.checked_add(p.bytes).ok_or_else(overflow)?;
            longest = longest.max(p.values);
            if ragged {
                let split = i64::try_from(values).map_err(|_| overflow())?;
                col.row_splits.push(split);
            }
        }
        starts[chunks * k + e] = Start { values, bytes };
        if entry.dtype == DType::String {
            col.string_offsets.resize(values + 1, 0);
            col.string_data.resize(bytes, 0);
        } else {
            let esize = entry.dtype.size().unwrap_or(0);
            col.set_bytes_len(values.checked_mul(esize).ok_or_else(overflow)?);
        }
        if ragged {
            col.shape.clear();
            col.shape.extend_from_slice(&[n, longest]);
        }
    }

    // Pass 3: copy the gathered values into place.
    if entries.iter().any(Entry::is_gathered) {
        let mut areas: Vec<Area<'_>> = out
            .columns
            .iter_mut()
            .zip(entries)
            .map(|(c, e)| {
                if !e.is_gathered() {
                    return Area::default();
                }
                if e.dtype == DType::String {
                    Area {
                        offsets: c.string_offsets.get_mut(1..).unwrap_or_default(),
                        data: &mut c.string_data[..],
                        values: &mut [],
                        base: 0,
                    }
                } else {
                    Area {
                        values: c.bytes_mut(),
                        ..Area::default()
                    }
                }
            })
            .collect();
        let mut works = Vec::with_capacity(chunks);
        for c in 0..chunks {
            let mut mine = Vec::with_capacity(k);
            for (e, (area, entry)) in areas.iter_mut().zip(entries).enumerate() {
                if !entry.is_gathered() {
                    mine.push(Area::default());
                    continue;
                }
                let (from, to) = (starts[c * k + e], starts[(c + 1) * k + e]);
                let esize = entry.dtype.size().unwrap_or(0);
                let (values, rest) = split(
                    std::mem::take(&mut area.values),
                    (to.values - from.values) * esize,
                )?;
                area.values = rest;
                let string_values = if entry.dtype == DType::String {
                    to.values - from.values
                } else {
                    0
                };
                let (offsets, rest) = split(std::mem::take(&mut area.offsets), string_values)?;
                area.offsets = rest;
                let (data, rest) = split(std::mem::take(&mut area.data), to.bytes - from.bytes)?;
                area.data = rest;
                mine.push(Area {
                    values,
                    offsets,
                    data,
                    base: from.bytes,
                });
            }
            let first = c * chunk;
            let pending = pending
                .get(first * k..(first + chunk).min(n) * k)
                .unwrap_or_default();
            works.push(GatherWork {
                first,
                pending,
                areas: mine,
            });
        }
        let run = |w: &mut GatherWork<'_, 'a>| -> Result<(), Failure> {
            let m = w.pending.len() / k.max(1);
            for j in 0..m {
                let pending = w.pending.get(j * k..(j + 1) * k).unwrap_or_default();
                gather_one(entries, pending, &mut w.areas).map_err(|e| (Some(w.first + j), e))?;
            }
            Ok(())
        };
        run_all(&mut works, run)?;
    }
    Ok(())
}

/// Pass 1 for record `j` of a chunk: checks it against the spec, writes
/// stacked values into `slots` and notes the gathered ones in `pending`.
fn parse_one<'a>(
    entries: &[Entry],
    payload: &'a [u8],
    j: usize,
    slots: &mut [&mut [u8]],
    pending: &mut [Pending<'a>],
    found: &mut [Option<Feat<'a>>],
) -> Result<()> {
    if !scan(payload, entries, found) {
        let view = ExampleView::parse(payload)?;
        for (slot, entry) in found.iter_mut().zip(entries) {
            *slot = view.get(&entry.name).map(Feat::Viewed);
        }
    }
    for (((entry, slot), note), feature) in entries.iter().zip(slots).zip(pending).zip(found.iter())
    {
        let slot = slot
            .get_mut(j * entry.slot_bytes..(j + 1) * entry.slot_bytes)
            .unwrap_or_default();
        // A feature with no kind set is missing, as in TensorFlow.
        let feature = feature.filter(|f| f.kind() != FeatureKind::None);
        match entry.kind {
            EntryKind::Fixed => {
                let Some(f) = feature else {
                    if entry.default.is_none() {
                        return Err(entry.fail(format_args!(
                            "missing, and the spec gives no default ({}, shape {:?})",
                            entry.dtype,
                            &entry.shape[..]
                        )));
                    }
                    if entry.dtype == DType::String {
                        *note = Pending {
                            source: Source::Default,
                            values: entry.count,
                            bytes: entry.default_string_bytes,
                        };
                    } else {
                        copy_exact(slot, &entry.default_bytes)?;
                    }
                    continue;
                };
                if f.kind() != entry.list_kind() {
                    return Err(entry.wrong_kind(f.kind()));
                }
                if f.len() != entry.count {
                    return Err(entry.fail(format_args!(
                        "holds {} values, shape {:?} needs {}",
                        f.len(),
                        &entry.shape[..],
                        entry.count
                    )));
                }
                match entry.dtype {
                    DType::F32 => f.write_f32s(slot)?,
                    DType::I64 => f.write_i64s(slot)?,
                    _ => *note = strings_of(f),
                }
            }
            EntryKind::VarLen => match feature {
                None => *note = Pending::default(),
                Some(f) if f.kind() != entry.list_kind() => return Err(entry.wrong_kind(f.kind())),
                Some(f) if entry.dtype == DType::String => *note = strings_of(f),
                Some(f) => {
                    *note = Pending {
                        source: Source::Feature(f),
                        values: f.len(),
                        bytes: 0,
                    }
                }
            },
            EntryKind::Tensor => {
                let Some(f) = feature else {
                    return Err(entry.fail(format_args!(
                        "missing; a tensor feature has no default ({}, shape {:?})",
                        entry.dtype,
                        &entry.shape[..]
                    )));
                };
                if f.kind() != FeatureKind::Bytes {
                    return Err(entry.wrong_kind(f.kind()));
                }
                if f.len() != 1 {
                    return Err(entry.fail(format_args!(
                        "holds {} values, a tensor feature holds exactly one serialized tensor",
                        f.len()
                    )));
                }
                let t = f.tensor().map_err(|e| {
                    entry.fail(format_args!("not a serialized tensor: {}", e.kind()))
                })?;
                if t.dtype() != entry.dtype || t.shape() != &entry.shape[..] {
                    return Err(entry.fail(format_args!(
                        "holds a tensor {}{:?}, the spec wants {}{:?}",
                        t.dtype(),
                        t.shape(),
                        entry.dtype,
                        &entry.shape[..]
                    )));
                }
                match t.bytes() {
                    Some(bytes) => copy_exact(slot, bytes)?,
                    None => {
                        let bytes = t.strings().into_iter().flatten().map(<[u8]>::len).sum();
                        *note = Pending {
                            source: Source::Tensor(Box::new(t)),
                            values: entry.count,
                            bytes,
                        };
                    }
                }
            }
        }
    }
    Ok(())
}

/// Pass 3 for one record: moves its gathered values into their areas.
fn gather_one(entries: &[Entry], pending: &[Pending<'_>], areas: &mut [Area<'_>]) -> Result<()> {
    for ((entry, note), area) in entries.iter().zip(pending).zip(areas) {
        if !entry.is_gathered() || note.values == 0 {
            continue;
        }
        if entry.dtype == DType::String {
            match &note.source {
                Source::One(one) => area.put_strings(std::iter::once(*one))?,
                Source::Feature(f) => area.put_strings(f.strings())?,
                Source::Tensor(t) => area.put_strings(t.strings().into_iter().flatten())?,
                Source::Default => {
                    let strings = match &entry.default {
                        Some(DefaultValue::String(s)) => &s[..],
                        _ => &[],
                    };
                    area.put_strings(strings.iter().map(Vec::as_slice))?
                }
                Source::None => {}
            }
            continue;
        }
        let Source::Feature(f) = &note.source else {
            continue;
        };
        let esize = entry.dtype.size().unwrap_or(0);
        let (mine, rest) =
            split(std::mem::take(&mut area.values), note.values * esize).map_err(|(_, e)| e)?;
        area.values = rest;
        match entry.dtype {
            DType::F32 => f.write_f32s(mine)?,
            _ => f.write_i64s(mine)?,
        }
    }
    Ok(())
}

/// Runs `run` on every share of a batch, on rayon's threads when there is
/// more than one. Every share runs to its end; the error reported is that
/// of the first share that failed.
fn run_all<W: Send>(
    works: &mut [W],
    run: impl Fn(&mut W) -> Result<(), Failure> + Sync + Send,
) -> Result<(), Failure> {
    if works.len() > 1 {
        let results: Vec<_> = works.par_iter_mut().map(run).collect();
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
    } else {
        works.iter_mut().try_for_each(run)?;
    }
    Ok(())
}

/// Where one record's gathered values of one feature come from.
#[derive(Default)]
enum Source<'a> {
    /// No values.
    #[default]
    None,
    Feature(Feat<'a>),
    /// The one value of a `bytes_list`.
    One(&'a [u8]),
    Default,
    /// A string tensor (boxed: rare, and large beside the others).
    Tensor(Box<TensorView<'a>>),
}

/// What pass 1 learns of one (record, feature) pair for pass 3.
#[derive(Default)]
struct Pending<'a> {
    source: Source<'a>,
    values: usize,
    bytes: usize,
}

fn strings_of(f: Feat<'_>) -> Pending<'_> {
    if let Some(one) = f.single_string() {
        return Pending {
            source: Source::One(one),
            values: 1,
            bytes: one.len(),
        };
    }
    let bytes = string_bytes(&f);
    Pending {
        source: Source::Feature(f),
        values: f.len(),
        bytes,
    }
}

/// Counts of gathered values and bytes before a chunk.
#[derive(Debug, Clone, Copy, Default)]
struct Start {
    values: usize,
    bytes: usize,
}

/// Pass 1's share of a batch: a run of records from `first`.
struct ParseWork<'s, 'a> {
    first: usize,
    pending: &'s mut [Pending<'a>],
    /// Per feature, the stacked slots of these records.
    slots: Vec<&'s mut [u8]>,
    /// Per feature, where the record being parsed holds it.
    found: Vec<Option<Feat<'a>>>,
}

/// Pass 3's share of a batch.
struct GatherWork<'s, 'a> {
    first: usize,
    pending: &'s [Pending<'a>],
    areas: Vec<Area<'s>>,
}

/// Where a run of records' gathered values of one feature go.
#[derive(Default)]
struct Area<'s> {
    /// Element bytes of numeric values.
    values: &'s mut [u8],
    /// The end offset of each string.
    offsets: &'s mut [usize],
    /// String bytes.
    data: &'s mut [u8],
    /// Offset of `data` in the column's string buffer.
    base: usize,
}

impl Area<'_> {
    fn put_strings<'v>(&mut self, strings: impl Iterator<Item = &'v [u8]>) -> Result<()> {
        for s in strings {
            let (dst, rest) = split(std::mem::take(&mut self.data), s.len()).map_err(|(_, e)| e)?;
            dst.copy_from_slice(s);
            self.data = rest;
            self.base += s.len();
            let (end, rest) = split(std::mem::take(&mut self.offsets), 1).map_err(|(_, e)| e)?;
            if let Some(slot) = end.first_mut() {
                *slot = self.base;
            }
            self.offsets = rest;
        }
        Ok(())
    }
}

fn overflow() -> Failure {
    (None, Error::invalid_input("batch size in bytes overflows"))
}

/// Splits off the first `n` elements; sizes come from the first pass, so
/// a shortfall is a bug, reported rather than panicking.
fn split<T>(slice: &mut [T], n: usize) -> Result<(&mut [T], &mut [T]), Failure> {
    let len = slice.len();
    slice.split_at_mut_checked(n).ok_or_else(|| {
        (
            None,
            Error::invalid_input(format!(
                "internal: batch buffer of {len} elements has no room for {n}"
            )),
        )
    })
}

fn copy_exact(dst: &mut [u8], src: &[u8]) -> Result<()> {
    if dst.len() != src.len() {
        return Err(Error::invalid_input(format!(
            "internal: slot of {} bytes for {} bytes",
            dst.len(),
            src.len()
        )));
    }
    dst.copy_from_slice(src);
    Ok(())
}
