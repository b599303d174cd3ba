//! Many tensors written into a directory as `.npy` files that appear
//! together, or not at all. Knows nothing of the bytes of the format (the
//! writers below it do) or of reading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::export::{for_npy, Bf16As};
use super::stack::{NpyStack, StagedStack, STACK_BUFFER};
use super::write::write_npy_to;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::TensorView;
use crate::write::atomic::{sync_dir, AtomicFile, Staged};

/// Most stacked files one [`NpyDir`] keeps open: each holds a file and a
/// write buffer until the end.
pub const MAX_STACKS: usize = 256;

/// Digits of the position in a per-tensor file name, at the least.
const MIN_DIGITS: usize = 5;

/// How an [`NpyDir`] writes.
#[derive(Debug, Clone, Default)]
pub struct NpyDirOptions {
    stack: bool,
    bf16: Bf16As,
    no_sync: bool,
}

impl NpyDirOptions {
    /// One file per tensor, bfloat16 refused, files fsynced.
    pub fn new() -> NpyDirOptions {
        NpyDirOptions::default()
    }

    /// Stack tensors of one dtype and shape into one file per
    /// (dtype, shape) instead of writing one file per tensor.
    pub fn stack(mut self, yes: bool) -> NpyDirOptions {
        self.stack = yes;
        self
    }

    /// What to write for bfloat16 tensors (default: refuse them).
    pub fn bf16(mut self, bf16: Bf16As) -> NpyDirOptions {
        self.bf16 = bf16;
        self
    }

    /// Whether to fsync the files and the directory (default: yes).
    pub fn sync(mut self, yes: bool) -> NpyDirOptions {
        self.no_sync = !yes;
        self
    }
}

/// Where [`NpyDir::write`] put a tensor: the index of its file in what
/// [`NpyDir::finish`] returns, and its row there (0 for a file of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Index into [`NpyDir::finish`]'s list.
    pub file: usize,
    /// Row in a stacked file; 0 for a file of its own.
    pub row: u64,
}

/// One file an [`NpyDir`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyOutput {
    /// Where it is.
    pub path: PathBuf,
    /// The dtype of the array in it.
    pub dtype: DType,
    /// Its shape; for a stack, the row count first.
    pub shape: Vec<usize>,
}

/// Writes tensors into a directory as `.npy` files, byte for byte what
/// `numpy.save` writes for them.
///
/// Each tensor becomes `{stem}-{position}.npy`, the position zero-padded
/// to at least 5 digits (more when the count needs them) so that sorted
/// names keep the order the tensors came in; with
/// [`stack`](NpyDirOptions::stack), tensors of one dtype and shape become
/// one file of shape `[N, ...]`, named by [`stack_file_name`](NpyDir::stack_file_name).
///
/// Every file is written under a hidden temporary name in the directory,
/// and all of them are renamed into place by [`finish`](NpyDir::finish).
/// An error before then, or dropping the writer, leaves no file of this
/// writer behind; files already in the directory are left alone unless a
/// name is reused, and then replaced only at the end.
///
/// Tensors that `numpy.load` could not give back exactly are refused (see
/// [`check_lossless`](super::check_lossless)), bfloat16 unless
/// [`bf16`](NpyDirOptions::bf16) says what to write instead.
///
/// ```
/// use tfrec::npy::{NpyDir, NpyDirOptions};
/// use tfrec::Tensor;
///
/// let dir = tempfile::tempdir()?;
/// let mut out = NpyDir::create(dir.path(), "train", NpyDirOptions::new())?;
/// let pair = Tensor::from_slice(&[1.0f32, 2.0], &[2])?;
/// out.write(&pair)?;
/// out.write(&Tensor::scalar(7i64))?;
/// let files = out.finish()?;
/// let names: Vec<_> = files.iter().map(|f| f.path.file_name().unwrap()).collect();
/// assert_eq!(names, ["train-00000.npy", "train-00001.npy"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NpyDir {
    dir: PathBuf,
    stem: String,
    options: NpyDirOptions,
    singles: Vec<(Staged, DType, Vec<usize>)>,
    stacks: Vec<NpyStack>,
    groups: HashMap<(DType, Vec<usize>), usize>,
}

impl NpyDir {
    /// Starts writing into `dir` (created if missing), naming files after
    /// `stem`: a file name that does not start with `.`.
    pub fn create(dir: &Path, stem: &str, options: NpyDirOptions) -> Result<NpyDir> {
        if stem.is_empty() || stem.starts_with('.') || stem.contains(['/', '\\', '\0']) {
            return Err(Error::invalid_input(format!(
                "{stem:?} is not a stem: a stem is a file name that does not start with '.'"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::from(e).with_path(dir))?;
        Ok(NpyDir {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
            options,
            singles: Vec::new(),
            stacks: Vec::new(),
            groups: HashMap::new(),
        })
    }

    /// The name of the file for the tensor at `position` of `count`:
    /// `{stem}-{position}.npy`, the position zero-padded to the digits of
    /// `count - 1`, at least 5.
    ///
    /// ```
    /// use tfrec::npy::NpyDir;
    /// assert_eq!(NpyDir::tensor_file_name("x", 7, 10), "x-00007.npy");
    /// assert_eq!(NpyDir::tensor_file_name("x", 7, 1_000_001), "x-0000007.npy");
    /// ```
    pub fn tensor_file_name(stem: &str, position: u64, count: u64) -> String {
        let digits = count.saturating_sub(1).to_string().len().max(MIN_DIGITS);
        format!("{stem}-{position:0digits$}.npy")
    }

    /// The name of the stacked file for tensors of `dtype` and
    /// `item_shape`: `{stem}.{dtype}.{shape}.npy`, the dtype as TensorFlow
    /// names it and the shape's dimensions joined by `x` (`scalar` for
    /// rank 0).
    ///
    /// ```
    /// use tfrec::npy::NpyDir;
    /// use tfrec::DType;
    /// assert_eq!(NpyDir::stack_file_name("x", DType::F32, &[3, 0, 2]), "x.float32.3x0x2.npy");
    /// assert_eq!(NpyDir::stack_file_name("x", DType::String, &[]), "x.string.scalar.npy");
    /// ```
    pub fn stack_file_name(stem: &str, dtype: DType, item_shape: &[usize]) -> String {
        let shape = if item_shape.is_empty() {
            "scalar".to_string()
        } else {
            let dims: Vec<String> = item_shape.iter().map(usize::to_string).collect();
            dims.join("x")
        };
        format!("{stem}.{}.{shape}.npy", dtype.name())
    }

    /// Removes the temporary files that runs writing `stem` into `dir` left
    /// behind when they were killed: `.{stem}-N.npy.*.tmp` and
    /// `.{stem}.DTYPE.SHAPE.npy.*.tmp`. Returns the paths removed. Files
    /// under final names are never touched. Call it when no writer for
    /// `stem` is running in `dir`.
    ///
    /// ```
    /// use tfrec::npy::NpyDir;
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join(".x-17.npy.a1B2c3.tmp"), b"partial")?;
    /// std::fs::write(dir.path().join(".x.int64.3x4.npy.Zz9.tmp"), b"partial")?;
    /// std::fs::write(dir.path().join("x-00000.npy"), b"")?;
    /// assert_eq!(NpyDir::cleanup(dir.path(), "x")?.len(), 2);
    /// assert!(dir.path().join("x-00000.npy").exists());
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn cleanup(dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        crate::write::atomic::remove_temp_files(dir, |n| is_temp_of(n, stem))
    }

    /// Writes one tensor (under a temporary name until
    /// [`finish`](NpyDir::finish)). The error carries no record position:
    /// the caller knows where the tensor came from.
    pub fn write(&mut self, tensor: &TensorView<'_>) -> Result<Placement> {
        let converted = for_npy(tensor, self.options.bf16)?;
        let tensor: &TensorView<'_> = match &converted {
            Some(t) => t,
            None => tensor,
        };
        if self.options.stack {
            return self.push_to_stack(tensor);
        }
        let position = self.singles.len();
        let path = self.dir.join(format!("{}-{position}.npy", self.stem));
        let at = |e: std::io::Error| Error::from(e).with_path(&path);
        let mut file = AtomicFile::create_with(&path, STACK_BUFFER, None).map_err(at)?;
        file.set_sync(!self.options.no_sync);
        write_npy_to(tensor, &mut file).map_err(|e| e.with_path(&path))?;
        let staged = file.stage().map_err(at)?;
        self.singles
            .push((staged, tensor.dtype(), tensor.shape().to_vec()));
        Ok(Placement {
            file: position,
            row: 0,
        })
    }

    fn push_to_stack(&mut self, tensor: &TensorView<'_>) -> Result<Placement> {
        let key = (tensor.dtype(), tensor.shape().to_vec());
        let file = match self.groups.get(&key) {
            Some(&i) => i,
            None => {
                if self.stacks.len() >= MAX_STACKS {
                    return Err(Error::invalid_input(format!(
                        "more than {MAX_STACKS} (dtype, shape) groups to stack; \
                         {}{:?} would be one more",
                        key.0, key.1
                    )));
                }
                let name = NpyDir::stack_file_name(&self.stem, key.0, &key.1);
                let stack = NpyStack::create_with(
                    &self.dir.join(name),
                    key.0,
                    &key.1,
                    !self.options.no_sync,
                )?;
                self.stacks.push(stack);
                self.groups.insert(key, self.stacks.len() - 1);
                self.stacks.len() - 1
            }
        };
        let Some(stack) = self.stacks.get_mut(file) else {
            return Err(Error::invalid_input("stack went missing"));
        };
        let row = stack.rows();
        stack.push(tensor).map_err(|e| e.with_path(stack.path()))?;
        Ok(Placement { file, row })
    }

    /// Completes every file and renames them all into place. Returns them
    /// in the order [`Placement::file`] counts: by position, or for stacks
    /// by the first tensor of each.
    pub fn finish(self) -> Result<Vec<NpyOutput>> {
        let count = self.singles.len() as u64;
        let mut pending: Vec<(Staged, NpyOutput)> = Vec::new();
        for (position, (staged, dtype, shape)) in self.singles.into_iter().enumerate() {
            let name = NpyDir::tensor_file_name(&self.stem, position as u64, count);
            let path = self.dir.join(name);
            pending.push((staged, NpyOutput { path, dtype, shape }));
        }
        for stack in self.stacks {
            let (dtype, rows) = (stack.dtype(), stack.rows());
            let mut shape = vec![usize::try_from(rows).unwrap_or(usize::MAX)];
            shape.extend_from_slice(stack.item_shape());
            let StagedStack { path, staged, .. } = stack.stage()?;
            pending.push((staged, NpyOutput { path, dtype, shape }));
        }
        let mut outputs = Vec::with_capacity(pending.len());
        for (staged, output) in pending {
            if let Err(e) = staged.commit(&output.path) {
                // All or nothing: take back what was renamed already.
                for done in &outputs {
                    let NpyOutput { path, .. } = done;
                    let _ = std::fs::remove_file(path);
                }
                return Err(Error::from(e).with_path(&output.path));
            }
            outputs.push(output);
        }
        if !self.options.no_sync && !outputs.is_empty() {
            sync_dir(&self.dir, None).map_err(|e| Error::from(e).with_path(&self.dir))?;
        }
        Ok(outputs)
    }
}

/// True for the temporary files an [`NpyDir`] writing `stem` makes.
fn is_temp_of(name: &str, stem: &str) -> bool {
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(stem))
        .and_then(|n| n.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((base, random)) = rest.split_once(".npy.") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if random.is_empty() || random.contains('.') {
        return false;
    }
    if let Some(position) = base.strip_prefix('-') {
        return digits(position);
    }
    let Some((dtype, shape)) = base.strip_prefix('.').and_then(|b| b.split_once('.')) else {
        return false;
    };
    DType::ALL.iter().any(|d| d.name() == dtype)
        && (shape == "scalar" || shape.split('x').all(digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{read_npy, write_npy};
    use crate::{bf16, Tensor};

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_appear_only_at_the_end_and_match_write_npy() {
        let dir = tempfile::tempdir().unwrap();
        let tensors: Vec<Tensor> = (0..12u8)
            .map(|i| Tensor::from_slice(&vec![i; usize::from(i)], &[usize::from(i)]).unwrap())
            .collect();
        let mut out = NpyDir::create(dir.path(), "t", NpyDirOptions::new().sync(false)).unwrap();
        for (i, t) in tensors.iter().enumerate() {
            assert_eq!(out.write(t).unwrap(), Placement { file: i, row: 0 });
        }
        assert!(names(dir.path()).iter().all(|n| n.starts_with('.')));
        let files = out.finish().unwrap();
        assert_eq!(names(dir.path()).len(), 12);
        for (file, t) in files.iter().zip(&tensors) {
            assert_eq!(std::fs::read(&file.path).unwrap(), write_npy(t).unwrap());
            assert_eq!((file.dtype, file.shape.as_slice()), (t.dtype(), t.shape()));
        }
        assert!(files[11].path.ends_with("t-00011.npy"));
    }

    #[test]
    fn an_error_or_a_drop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for stack in [false, true] {
            let options = NpyDirOptions::new().stack(stack).sync(false);
            let mut out = NpyDir::create(dir.path(), "t", options).unwrap();
            out.write(&Tensor::scalar(1u8)).unwrap();
            out.write(&Tensor::from_strings(&["s"], &[]).unwrap())
                .unwrap();
            let err = out.write(&Tensor::scalar(bf16::ONE)).unwrap_err();
            assert!(err.to_string().contains("bfloat16"), "{err}");
            drop(out);
            assert_eq!(names(dir.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn stacks_group_by_dtype_and_shape() {
        let dir = tempfile::tempdir().unwrap();
        let options = NpyDirOptions::new()
            .stack(true)
            .bf16(Bf16As::Float32)
            .sync(false);
        let mut out = NpyDir::create(dir.path(), "s", options).unwrap();
        let inputs = [
            Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap(),
            Tensor::scalar(3i32),
            Tensor::from_slice(&[bf16::from_f32(4.0), bf16::from_f32(5.0)], &[2]).unwrap(),
            Tensor::scalar(6i32),
        ];
        let placed: Vec<Placement> = inputs.iter().map(|t| out.write(t).unwrap()).collect();
        let rows: Vec<(usize, u64)> = placed.iter().map(|p| (p.file, p.row)).collect();
        assert_eq!(rows, [(0, 0), (1, 0), (0, 1), (1, 1)]);
        let files = out.finish().unwrap();
        assert_eq!(names(dir.path()), ["s.float32.2.npy", "s.int32.scalar.npy"]);
        let floats = read_npy(&std::fs::read(&files[0].path).unwrap()).unwrap();
        assert_eq!(floats.to_vec::<f32>().unwrap(), [1.0, 2.0, 4.0, 5.0]);
        assert_eq!(files[0].shape, [2, 2]);
        let ints = read_npy(&std::fs::read(&files[1].path).unwrap()).unwrap();
        assert_eq!(
            (ints.shape(), ints.to_vec::<i32>().unwrap()),
            (&[2][..], vec![3, 6])
        );
    }

    #[test]
    fn temporary_names_are_told_apart() {
        for yes in [
            ".t-0.npy.abc.tmp",
            ".t-123456.npy.Zz9.tmp",
            ".t.float32.3x0x2.npy.q1.tmp",
            ".t.string.scalar.npy.q1.tmp",
        ] {
            assert!(is_temp_of(yes, "t"), "{yes}");
        }
        for no in [
            "t-00000.npy",
            ".t-00000.npy",
            ".t-.npy.abc.tmp",
            ".t-1x.npy.abc.tmp",
            ".t-1.npy..tmp",
            ".u-1.npy.abc.tmp",
            ".t.float33.3.npy.q1.tmp",
            ".t.float32.3x.npy.q1.tmp",
            ".t-00001.tfrecord.abc.tmp",
            ".t.manifest.json.abc.tmp",
        ] {
            assert!(!is_temp_of(no, "t"), "{no}");
        }
        // What a killed run leaves is exactly what cleanup removes.
        let dir = tempfile::tempdir().unwrap();
        for stack in [false, true] {
            let options = NpyDirOptions::new().stack(stack).sync(false);
            let mut out = NpyDir::create(dir.path(), "t", options).unwrap();
            out.write(&Tensor::scalar(1u8)).unwrap();
            out.write(&Tensor::from_strings(&["s"], &[1]).unwrap())
                .unwrap();
            let temps = names(dir.path());
            assert_eq!(temps.len(), 2);
            std::mem::forget(out);
            assert_eq!(NpyDir::cleanup(dir.path(), "t").unwrap().len(), 2);
            assert_eq!(names(dir.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn stems_are_file_names() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", ".hidden", "a/b", "nul\0"] {
            assert!(
                NpyDir::create(dir.path(), bad, NpyDirOptions::new()).is_err(),
                "{bad:?}"
            );
        }
    }
}
