//! `tfrec unpack` against numpy itself (`tests/npy_helper.py`):
//! `np.save` → `pack` → `unpack` gives the same bytes for every dtype,
//! `--stack` gives what `np.save(np.stack(rows))` does, and `np.load` reads
//! TensorFlow's records back bit for bit.
//!
//! numpy comes with the TensorFlow of the interop tests: the Python from
//! `TFREC_PYTHON`, or `.venv/bin/python` (made by `.ci/setup-venv.sh`).
//! Without it these tests are skipped with a message, unless
//! `TFREC_REQUIRE_TF=1`, when they fail instead.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::python::run_helper;
use common::tf;
use common::unpack::{npy_files, ok, s, tensorflow_file, unpack_bf16_as_float32, widened};
use tfrec::DType;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Runs `npy_helper.py ARGS` and returns its stdout.
fn npy_helper(py: &Path, args: &[&str]) -> String {
    run_helper(py, "npy_helper.py", args, &[])
}

fn sorted_npy(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    files.sort();
    files
}

#[test]
fn numpy_save_pack_unpack_gives_the_same_bytes() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved");
    npy_helper(&py, &["save", s(&saved)]);

    let singles = sorted_npy(&saved.join("single"));
    assert!(singles.len() >= 90, "{} files", singles.len());
    let packed = dir.path().join("single.tfrecord");
    let mut args = vec!["pack", "-o", s(&packed)];
    args.extend(singles.iter().map(|p| s(p)));
    ok(&args);
    let out = dir.path().join("out");
    ok(&["unpack", "--out-dir", s(&out), s(&packed)]);
    let files = npy_files(&out);
    assert_eq!(files.len(), singles.len());
    for (theirs, ours) in singles.iter().zip(&files) {
        assert_eq!(
            std::fs::read(ours).unwrap(),
            std::fs::read(theirs).unwrap(),
            "{theirs:?}"
        );
    }

    // Rows of one dtype and shape: --stack writes what np.save(np.stack(rows)) does.
    for k in 0.. {
        let rows_dir = saved.join(format!("stack-{k}"));
        if !rows_dir.exists() {
            assert!(k >= 6, "only {k} stacks");
            break;
        }
        let rows = sorted_npy(&rows_dir);
        let packed = dir.path().join(format!("rows-{k}.tfrecord"));
        let mut args = vec!["pack", "-o", s(&packed)];
        args.extend(rows.iter().map(|p| s(p)));
        ok(&args);
        let out = dir.path().join(format!("stacked-{k}"));
        ok(&["unpack", "--stack", "--out-dir", s(&out), s(&packed)]);
        let files = npy_files(&out);
        assert_eq!(files.len(), 1);
        let want = std::fs::read(saved.join(format!("stack-{k}.npy"))).unwrap();
        assert_eq!(
            std::fs::read(&files[0]).unwrap(),
            want,
            "stack {k}: {:?}",
            files[0]
        );
    }
}

#[test]
fn numpy_loads_tensorflow_records_bit_for_bit() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (tensors, path) = tensorflow_file(dir.path(), "tensors.tfrecord");
    let out = dir.path().join("out");
    unpack_bf16_as_float32(&out, &path);
    let files = npy_files(&out);
    let mut args = vec!["load"];
    args.extend(files.iter().map(|p| s(p)));
    let loaded = npy_helper(&py, &args);
    let lines: Vec<&str> = loaded.lines().collect();
    assert_eq!(lines.len(), tensors.len());
    let mut dtypes = std::collections::BTreeSet::new();
    for (line, t) in lines.iter().zip(&tensors) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let want = widened(t);
        let shape: Vec<usize> = v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(shape, want.shape(), "{line}");
        match want.dtype() {
            DType::String => {
                assert!(v["descr"].as_str().unwrap().starts_with("|S"), "{line}");
                let got: Vec<Vec<u8>> = v["strings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| B64.decode(s.as_str().unwrap()).unwrap())
                    .collect();
                let want: Vec<&[u8]> = want.strings().unwrap().collect();
                assert_eq!(got, want, "{line}");
            }
            dtype => {
                assert_eq!(v["name"], dtype.name(), "{line}");
                let data = B64.decode(v["data"].as_str().unwrap()).unwrap();
                assert_eq!(Some(&data[..]), want.bytes(), "{line}");
            }
        }
        dtypes.insert(t.dtype());
    }
    assert_eq!(dtypes.len(), DType::ALL.len(), "every dtype was checked");
}
