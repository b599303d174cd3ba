//! Many tensors of one dtype and shape streamed into one `.npy` file,
//! stacked along a new first axis. Knows nothing of reading `.npy` files
//! or of directories of them.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::export::check_lossless;
use super::write::{bf16_error, encode_header, fixed_descr, write_padded};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{TensorView, MAX_RANK};
use crate::write::atomic::{parent_dir, sync_dir, AtomicFile, Staged};

/// Write buffer of a stack's file: small, since many may be open at once.
pub(crate) const STACK_BUFFER: usize = 64 << 10;

/// A `.npy` file of shape `[N, ...]` built one tensor (one row) at a time,
/// without holding the rows in memory: byte for byte what
/// `numpy.save(path, numpy.stack(rows))` writes.
///
/// Fixed-size rows go straight to the file behind a header whose final
/// form (it holds `N`) replaces it in place at the end; string rows wait in
/// an anonymous spool file until the longest element, which sets the `|S`
/// width, is known. The file is written under a hidden temporary name and
/// appears only when [`finish`](NpyStack::finish)ed; dropped unfinished, it
/// leaves nothing behind.
///
/// ```
/// use tfrec::npy::{self, NpyStack};
/// use tfrec::{DType, Tensor};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("rows.npy");
/// let mut stack = NpyStack::create(&path, DType::I32, &[2])?;
/// let (first, second) = (Tensor::from_slice(&[1i32, 2], &[2])?, Tensor::from_slice(&[3i32, 4], &[2])?);
/// stack.push(&first)?;
/// stack.push(&second)?;
/// let short = Tensor::from_slice(&[5i32], &[1])?;
/// assert!(stack.push(&short).is_err()); // another shape
/// stack.finish()?;
/// let all = npy::read_npy(&std::fs::read(&path)?)?;
/// assert_eq!(all, Tensor::from_slice(&[1i32, 2, 3, 4], &[2, 2])?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpyStack {
    file: AtomicFile,
    dtype: DType,
    item_shape: Vec<usize>,
    rows: u64,
    body: Body,
    sync: bool,
}

enum Body {
    /// Rows go to the file after a header of the final length.
    Fixed { descr: &'static str },
    /// Elements wait in the spool, each as a little-endian `u64` length and
    /// its bytes, until the widest is known.
    Strings {
        spool: BufWriter<File>,
        width: usize,
        elements: u64,
    },
}

impl NpyStack {
    /// Starts a stack of `dtype` tensors of shape `item_shape` at `path`,
    /// fsyncing it on finish. bfloat16 has no `.npy` dtype and is an error
    /// (convert it first: [`for_npy`](super::for_npy)).
    pub fn create(path: &Path, dtype: DType, item_shape: &[usize]) -> Result<NpyStack> {
        NpyStack::create_with(path, dtype, item_shape, true)
    }

    pub(crate) fn create_with(
        path: &Path,
        dtype: DType,
        item_shape: &[usize],
        sync: bool,
    ) -> Result<NpyStack> {
        if item_shape.len() >= MAX_RANK {
            return Err(Error::invalid_input(format!(
                "cannot stack rank-{} tensors: the stack would have more than {MAX_RANK} dimensions",
                item_shape.len()
            )));
        }
        let at = |e: std::io::Error| Error::from(e).with_path(path);
        let mut file = AtomicFile::create_with(path, STACK_BUFFER, None).map_err(at)?;
        file.set_sync(sync);
        let body = match dtype {
            DType::BF16 => return Err(bf16_error()),
            DType::String => {
                let spool = tempfile::tempfile_in(parent_dir(path)).map_err(at)?;
                Body::Strings {
                    spool: BufWriter::with_capacity(STACK_BUFFER, spool),
                    width: 0,
                    elements: 0,
                }
            }
            _ => {
                let descr = fixed_descr(dtype).ok_or_else(bf16_error)?;
                let header = encode_header(descr, &stacked_shape(0, item_shape))?;
                file.write_all(&header).map_err(at)?;
                Body::Fixed { descr }
            }
        };
        Ok(NpyStack {
            file,
            dtype,
            item_shape: item_shape.to_vec(),
            rows: 0,
            body,
            sync,
        })
    }

    /// The dtype of every row.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape of every row.
    pub fn item_shape(&self) -> &[usize] {
        &self.item_shape
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The path the file appears at when finished.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Appends one row. Its dtype and shape must be the stack's, and a
    /// string row must pass [`check_lossless`].
    pub fn push(&mut self, tensor: &TensorView<'_>) -> Result<()> {
        if tensor.dtype() != self.dtype || tensor.shape() != self.item_shape.as_slice() {
            return Err(Error::invalid_input(format!(
                "a {}{:?} tensor does not fit a stack of {}{:?}",
                tensor.dtype(),
                tensor.shape(),
                self.dtype,
                self.item_shape
            )));
        }
        let path = self.file.path().to_path_buf();
        let at = |e: std::io::Error| Error::from(e).with_path(&path);
        match &mut self.body {
            Body::Fixed { .. } => {
                let bytes = tensor.bytes().unwrap_or_default();
                self.file.write_all(bytes).map_err(at)?;
            }
            Body::Strings {
                spool,
                width,
                elements,
            } => {
                check_lossless(tensor)?;
                for s in tensor.strings().into_iter().flatten() {
                    spool
                        .write_all(&(s.len() as u64).to_le_bytes())
                        .map_err(at)?;
                    spool.write_all(s).map_err(at)?;
                    *width = (*width).max(s.len());
                    *elements += 1;
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Completes the file and renames it into place.
    pub fn finish(self) -> Result<PathBuf> {
        let staged = self.stage()?;
        let path = staged.path.clone();
        let sync = staged.synced;
        staged
            .staged
            .commit(&path)
            .map_err(|e| Error::from(e).with_path(&path))?;
        if sync {
            sync_dir(parent_dir(&path), None).map_err(|e| Error::from(e).with_path(&path))?;
        }
        Ok(path)
    }

    /// Completes the file under its temporary name.
    pub(crate) fn stage(self) -> Result<StagedStack> {
        let NpyStack {
            mut file,
            item_shape,
            rows,
            body,
            sync,
            ..
        } = self;
        let path = file.path().to_path_buf();
        let at = |e: std::io::Error| Error::from(e).with_path(&path);
        let rows = usize::try_from(rows)
            .map_err(|_| Error::invalid_input("too many rows for one .npy file"))?;
        let shape = stacked_shape(rows, &item_shape);
        match body {
            Body::Fixed { descr } => {
                let header = encode_header(descr, &shape)?;
                let first = encode_header(descr, &stacked_shape(0, &item_shape))?;
                if header.len() != first.len() {
                    return Err(Error::invalid_input(
                        ".npy header grew past the room left for the row count",
                    ));
                }
                file.overwrite_start(&header).map_err(at)?;
            }
            Body::Strings {
                spool,
                width,
                elements,
            } => {
                let width = width.max(1);
                file.write_all(&encode_header(&format!("|S{width}"), &shape)?)
                    .map_err(at)?;
                let mut spool = spool.into_inner().map_err(|e| at(e.into_error()))?;
                spool.seek(SeekFrom::Start(0)).map_err(at)?;
                copy_padded(BufReader::new(spool), elements, width, &mut file)
                    .map_err(|e| e.with_path(&path))?;
            }
        }
        let staged = file.stage().map_err(at)?;
        Ok(StagedStack {
            path,
            staged,
            synced: sync,
        })
    }
}

/// A finished stack under its temporary name.
pub(crate) struct StagedStack {
    pub(crate) path: PathBuf,
    pub(crate) staged: Staged,
    synced: bool,
}

fn stacked_shape(rows: usize, item_shape: &[usize]) -> Vec<usize> {
    let mut shape = Vec::with_capacity(item_shape.len() + 1);
    shape.push(rows);
    shape.extend_from_slice(item_shape);
    shape
}

/// Copies `elements` spooled strings to `out`, each padded to `width`.
fn copy_padded(
    mut spool: impl Read,
    elements: u64,
    width: usize,
    out: &mut impl Write,
) -> Result<()> {
    let mut buf = Vec::with_capacity(width);
    for _ in 0..elements {
        let mut len = [0u8; 8];
        spool.read_exact(&mut len)?;
        let len = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .filter(|&l| l <= width)
            .ok_or_else(|| Error::invalid_input("string spool is damaged"))?;
        buf.resize(len, 0);
        spool.read_exact(&mut buf)?;
        write_padded(out, &buf, width)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{read_npy, write_npy};
    use crate::Tensor;

    /// What numpy.stack would give, built through `write_npy`.
    fn stacked(rows: &[Tensor]) -> Vec<u8> {
        let first = &rows[0];
        let mut shape = vec![rows.len()];
        shape.extend_from_slice(first.shape());
        let t = if first.dtype() == DType::String {
            let all: Vec<Vec<u8>> = rows
                .iter()
                .flat_map(|r| r.strings().unwrap().map(<[u8]>::to_vec).collect::<Vec<_>>())
                .collect();
            Tensor::from_strings(&all, &shape).unwrap()
        } else {
            let all: Vec<u8> = rows
                .iter()
                .flat_map(|r| r.bytes().unwrap().to_vec())
                .collect();
            Tensor::from_bytes(first.dtype(), &shape, all).unwrap()
        };
        write_npy(&t).unwrap()
    }

    fn stack_file(rows: &[Tensor]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.npy");
        let mut s = NpyStack::create_with(&path, rows[0].dtype(), rows[0].shape(), false).unwrap();
        for r in rows {
            s.push(r).unwrap();
        }
        assert_eq!(s.rows(), rows.len() as u64);
        s.finish().unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the stack is left");
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn stacks_are_what_write_npy_gives_for_the_whole() {
        let cases: Vec<Vec<Tensor>> = vec![
            (0..3)
                .map(|i| Tensor::from_slice(&[i as f32, -1.5, 2.0 * i as f32], &[3]).unwrap())
                .collect(),
            (0..12)
                .map(|i| Tensor::scalar(i as u64 * 1_000_003))
                .collect(),
            vec![Tensor::from_slice::<i16>(&[], &[2, 0]).unwrap(); 4],
            vec![Tensor::from_bools(&[true, false], &[1, 2]).unwrap(); 1],
            vec![
                Tensor::from_strings(&["a", "", "xyz"], &[3]).unwrap(),
                Tensor::from_strings(&["\0b", "longest one", "c"], &[3]).unwrap(),
            ],
            vec![Tensor::from_strings(&[""], &[]).unwrap(); 3],
            vec![Tensor::from_strings::<&str>(&[], &[0]).unwrap(); 2],
        ];
        for rows in cases {
            let bytes = stack_file(&rows);
            assert_eq!(bytes, stacked(&rows), "{rows:?}");
            let back = read_npy(&bytes).unwrap();
            assert_eq!(back.shape()[0], rows.len());
        }
    }

    #[test]
    fn many_rows_keep_the_header_length() {
        // Enough rows to cross several write buffers and to change the
        // digit count of the first dimension.
        let rows: Vec<Tensor> = (0..20_000u32)
            .map(|i| Tensor::from_slice(&[i, !i], &[2]).unwrap())
            .collect();
        assert_eq!(stack_file(&rows), stacked(&rows));
    }

    #[test]
    fn refusals_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.npy");
        assert!(NpyStack::create(&path, DType::BF16, &[]).is_err());
        let mut s = NpyStack::create(&path, DType::String, &[1]).unwrap();
        s.push(&Tensor::from_strings(&["ok"], &[1]).unwrap())
            .unwrap();
        let err = s
            .push(&Tensor::from_strings(&["no\0"], &[1]).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = s.push(&Tensor::scalar(1u8)).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
        drop(s);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
