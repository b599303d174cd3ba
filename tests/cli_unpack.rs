//! `tfrec unpack`, run as a separate process: every dtype against the
//! library's `.npy` writer and against numpy itself (`tests/npy_helper.py`,
//! with the Python of the TensorFlow interop tests), `--stack`, the order
//! flags, compressed and piped inputs, and the refusals, which leave no
//! file behind.

mod common;
#[allow(dead_code)] // tf_helper: this file runs npy_helper.py instead
#[path = "common/tf.rs"]
mod tf;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use common::{dir_entries, mixed_tensors, one_of_each_dtype, pseudo_random_bytes};
use tfrec::example::json::JsonRecord;
use tfrec::npy::{read_npy, write_npy};
use tfrec::{bf16, Compression, DType, Reader, Tensor, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Runs `tfrec ARGS` with `stdin` fed to it.
fn tfrec_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tfrec");
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for tfrec");
    feeder.join().expect("stdin feeder");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "tfrec {args:?} panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `tfrec ARGS`, which must succeed quietly; returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = tfrec_with_stdin(args, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "tfrec {args:?}: {stderr}"
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs `tfrec ARGS`, which must fail with exit 1 and one line on stderr;
/// returns that line.
fn fails(args: &[&str]) -> String {
    let out = tfrec_with_stdin(args, b"");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(out.status.code(), Some(1), "tfrec {args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "tfrec {args:?}: {stderr}");
    stderr.trim_end().to_string()
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn write_records(path: &Path, tensors: &[Tensor], compression: Compression) {
    let mut w = Writer::create_with(path, compression).unwrap();
    for t in tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
}

/// Tensors of every dtype `.npy` can name: random bits (NaN payloads and
/// all) in scalars, empty tensors and ranks up to 5, and strings with NULs
/// anywhere but at the end.
fn npy_tensors() -> Vec<Tensor> {
    let shapes: [&[usize]; 6] = [&[], &[0], &[3, 0, 2], &[5], &[2, 3], &[2, 1, 3, 1, 2]];
    let mut out = Vec::new();
    for (d, dtype) in DType::ALL.into_iter().enumerate() {
        for (k, shape) in shapes.iter().enumerate() {
            let n: usize = shape.iter().product();
            let seed = (d * 16 + k) as u64;
            let t = match dtype {
                DType::BF16 => continue,
                DType::String => {
                    let bytes = pseudo_random_bytes(n * 4, seed);
                    let strings: Vec<Vec<u8>> = bytes
                        .chunks(4)
                        .map(|c| c[..usize::from(c[0] % 5)].to_vec())
                        .map(|mut v| {
                            if v.last() == Some(&0) {
                                v.push(b'z');
                            }
                            v
                        })
                        .collect();
                    Tensor::from_strings(&strings, shape)
                }
                DType::Bool => {
                    let bits = pseudo_random_bytes(n, seed).iter().map(|b| b & 1).collect();
                    Tensor::from_bytes(dtype, shape, bits)
                }
                _ => {
                    let size = dtype.size().unwrap();
                    Tensor::from_bytes(dtype, shape, pseudo_random_bytes(n * size, seed))
                }
            };
            out.push(t.unwrap());
        }
    }
    out.extend(mixed_tensors());
    out.extend(
        one_of_each_dtype()
            .into_iter()
            .filter(|t| t.dtype() != DType::BF16),
    );
    out
}

/// The visible `.npy` files of `dir`, sorted; and every entry (hidden ones
/// too) must be one of them.
fn npy_files(dir: &Path) -> Vec<PathBuf> {
    let names = dir_entries(dir);
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('.') && n.ends_with(".npy")),
        "{names:?}"
    );
    names.iter().map(|n| dir.join(n)).collect()
}

#[test]
fn every_dtype_unpacks_to_what_numpy_save_writes_from_any_input_form() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = npy_tensors();
    for c in [Compression::None, Compression::Gzip, Compression::Zlib] {
        let suffix = match c {
            Compression::Gzip => ".gz",
            Compression::Zlib => ".zz",
            _ => "",
        };
        // The stem leaves out every known extension: `in`.
        let input = dir.path().join(format!("in.tfrecord{suffix}"));
        write_records(&input, &tensors, c);
        let out = dir.path().join(format!("out-{c}"));
        ok(&["unpack", "--no-fsync", "--out-dir", s(&out), s(&input)]);
        let files = npy_files(&out);
        assert_eq!(files.len(), tensors.len(), "{c}");
        for (i, (file, t)) in files.iter().zip(&tensors).enumerate() {
            assert!(file.ends_with(format!("in-{i:05}.npy")), "{file:?}");
            let bytes = std::fs::read(file).unwrap();
            assert_eq!(bytes, write_npy(t).unwrap(), "{c} record {i}: {t:?}");
            assert_eq!(&read_npy(&bytes).unwrap(), t, "{c} record {i}");
        }
        if c == Compression::None {
            let plain: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
            // And from stdin, named after `data`.
            let bytes = std::fs::read(&input).unwrap();
            let piped = dir.path().join("piped");
            let out = tfrec_with_stdin(&["unpack", "--out-dir", s(&piped), "-"], &bytes);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let files = npy_files(&piped);
            assert!(files[0].ends_with("data-00000.npy"));
            let got: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
            assert_eq!(got, plain);
        }
    }
}

#[test]
fn pack_then_unpack_gives_back_the_same_npy_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (i, t) in npy_tensors().iter().enumerate() {
        let path = dir.path().join(format!("{i:03}.npy"));
        std::fs::write(&path, write_npy(t).unwrap()).unwrap();
        inputs.push(path);
    }
    let packed = dir.path().join("packed.tfrecord");
    let mut args = vec!["pack", "-o", s(&packed)];
    args.extend(inputs.iter().map(|p| s(p)));
    ok(&args);
    let out = dir.path().join("out");
    ok(&[
        "unpack",
        "--out-dir",
        s(&out),
        "--stem",
        "again",
        s(&packed),
    ]);
    let files = npy_files(&out);
    assert_eq!(files.len(), inputs.len());
    for (i, (input, file)) in inputs.iter().zip(&files).enumerate() {
        assert!(file.ends_with(format!("again-{i:05}.npy")), "{file:?}");
        assert_eq!(
            std::fs::read(file).unwrap(),
            std::fs::read(input).unwrap(),
            "{input:?}"
        );
    }
}

/// `tensors` stacked along a new first axis.
fn stacked(tensors: &[&Tensor]) -> Tensor {
    let mut shape = vec![tensors.len()];
    shape.extend_from_slice(tensors[0].shape());
    if tensors[0].dtype() == DType::String {
        let all: Vec<&[u8]> = tensors.iter().flat_map(|t| t.strings().unwrap()).collect();
        Tensor::from_strings(&all, &shape).unwrap()
    } else {
        let all: Vec<u8> = tensors
            .iter()
            .flat_map(|t| t.bytes().unwrap().to_vec())
            .collect();
        Tensor::from_bytes(tensors[0].dtype(), &shape, all).unwrap()
    }
}

#[test]
fn stack_writes_one_file_per_dtype_and_shape_named_after_both() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = npy_tensors();
    let input = dir.path().join("mixed.tfrecord.gz");
    write_records(&input, &tensors, Compression::Gzip);
    let out = dir.path().join("out");
    let list = ok(&[
        "unpack",
        "--stack",
        "--list",
        "--out-dir",
        s(&out),
        s(&input),
    ]);

    type Group<'t> = ((DType, Vec<usize>), Vec<&'t Tensor>);
    let mut groups: Vec<Group> = Vec::new();
    for t in &tensors {
        let key = (t.dtype(), t.shape().to_vec());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(t),
            None => groups.push((key, vec![t])),
        }
    }
    let files = npy_files(&out);
    assert_eq!(files.len(), groups.len());
    for ((dtype, shape), rows) in &groups {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        let dims = if dims.is_empty() {
            "scalar".into()
        } else {
            dims.join("x")
        };
        let name = format!("mixed.{}.{dims}.npy", dtype.name());
        let bytes = std::fs::read(out.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(bytes, write_npy(&stacked(rows)).unwrap(), "{name}");
    }

    // --list: one line per record, in record order, naming file and row.
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), tensors.len());
    let mut seen_rows = std::collections::HashMap::new();
    for (i, (line, t)) in lines.iter().zip(&tensors).enumerate() {
        let (place, source) = line.split_once('\t').unwrap();
        assert_eq!(source, format!("{}:{i}", s(&input)));
        let (name, row) = place.trim_end_matches(']').split_once('[').unwrap();
        let row: usize = row.parse().unwrap();
        let next = seen_rows.entry(name.to_string()).or_insert(0);
        assert_eq!(row, *next, "{line}");
        *next += 1;
        let all = read_npy(&std::fs::read(out.join(name)).unwrap()).unwrap();
        assert_eq!(
            (all.dtype(), &all.shape()[1..]),
            (t.dtype(), t.shape()),
            "{line}"
        );
    }
}

/// `FILE:INDEX` of each line `tfrec cat` prints.
fn cat_order(args: &[&str]) -> Vec<String> {
    let mut full = vec!["cat"];
    full.extend_from_slice(args);
    ok(&full)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn order_flags_give_the_order_cat_prints() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = npy_tensors();
    let (first, second) = tensors.split_at(40);
    let a = dir.path().join("a.tfrecord");
    let b = dir.path().join("b.tfrecord.zz");
    write_records(&a, first, Compression::None);
    write_records(&b, second, Compression::Zlib);
    let by_file = [first, second];
    let flags: [&[&str]; 4] = [
        &[],
        &["--shuffle", "7"],
        &["--shuffle", "7", "--epoch", "2"],
        &["--shuffle", "3", "--shard", "1/3"],
    ];
    for (k, flags) in flags.iter().enumerate() {
        let out = dir.path().join(format!("out-{k}"));
        let mut args = vec!["unpack", "--list", "--no-fsync", "--out-dir", s(&out)];
        args.extend_from_slice(flags);
        args.extend([s(&a), s(&b)]);
        let list = ok(&args);
        let mut cat_args = flags.to_vec();
        cat_args.extend([s(&a), s(&b)]);
        let expected = cat_order(&cat_args);
        let files = npy_files(&out);
        assert_eq!(files.len(), expected.len(), "{flags:?}");
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), expected.len());
        for (position, ((line, want), file)) in lines.iter().zip(&expected).zip(&files).enumerate()
        {
            // The first input's stem; the position in the output order.
            let name = format!("a-{position:05}.npy");
            assert_eq!(*line, format!("{name}\t{want}"), "{flags:?}");
            assert!(file.ends_with(&name));
            let (source, index) = want.rsplit_once(':').unwrap();
            let which = usize::from(source == s(&b));
            let t = &by_file[which][index.parse::<usize>().unwrap()];
            assert_eq!(
                std::fs::read(file).unwrap(),
                write_npy(t).unwrap(),
                "{line}"
            );
        }
    }
    let shuffled = cat_order(&["--shuffle", "7", s(&a), s(&b)]);
    assert_ne!(shuffled, cat_order(&[s(&a), s(&b)]), "the shuffle shuffles");
}

#[test]
fn bfloat16_needs_an_explicit_choice() {
    let dir = tempfile::tempdir().unwrap();
    let values = [1.5f32, -0.0, f32::INFINITY, 3.0e38, 1.0e-40];
    let bf: Vec<bf16> = values.iter().map(|&v| bf16::from_f32(v)).collect();
    let tensors = [
        Tensor::scalar(1u8),
        Tensor::from_slice(&bf, &[5]).unwrap(),
        Tensor::scalar(2u8),
    ];
    let input = dir.path().join("bf.tfrecord");
    write_records(&input, &tensors, Compression::None);
    let out = dir.path().join("out");
    for stack in [false, true] {
        let mut args = vec!["unpack", "--out-dir", s(&out), s(&input)];
        if stack {
            args.push("--stack");
        }
        let err = fails(&args);
        assert!(
            err.contains(&format!("{}: record 1 at offset", s(&input)))
                && err.contains("bfloat16")
                && err.contains("--bf16-as"),
            "{err}"
        );
        assert_eq!(dir_entries(&out), Vec::<String>::new(), "nothing is left");
    }

    ok(&[
        "unpack",
        "--bf16-as",
        "float32",
        "--out-dir",
        s(&out),
        s(&input),
    ]);
    let wide = read_npy(&std::fs::read(out.join("bf-00001.npy")).unwrap()).unwrap();
    let want: Vec<u32> = bf.iter().map(|b| u32::from(b.to_bits()) << 16).collect();
    let got: Vec<u32> = wide
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|f| f.to_bits())
        .collect();
    assert_eq!(got, want);

    ok(&[
        "unpack",
        "--bf16-as",
        "uint16",
        "--stack",
        "--out-dir",
        s(&out),
        s(&input),
    ]);
    let bits = read_npy(&std::fs::read(out.join("bf.uint16.5.npy")).unwrap()).unwrap();
    assert_eq!(
        bits.to_vec::<u16>().unwrap(),
        bf.iter().map(|b| b.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn refusals_name_file_and_record_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = Tensor::from_slice(&[1i32, 2], &[2])
        .unwrap()
        .to_proto_bytes();
    let nul = Tensor::from_strings(&[&b"fine"[..], b"ends\0"], &[2])
        .unwrap()
        .to_proto_bytes();
    let example = JsonRecord::from_json_line(r#"{"features": {"a": {"int64_list": [1]}}}"#)
        .unwrap()
        .to_payload();
    let sequence = JsonRecord::from_json_line(r#"{"feature_lists": {"f": [{"int64_list": [1]}]}}"#)
        .unwrap()
        .to_payload();
    let cases: [(&[u8], &str); 4] = [
        (&nul, "string element 1 ends in a NUL byte"),
        (&example, "a tf.train.Example, not a tensor"),
        (&sequence, "a tf.train.SequenceExample, not a tensor"),
        (b"\xff\xffnot a proto", "invalid tensor"),
    ];
    let out = dir.path().join("out");
    // Something already there stays untouched.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"mine").unwrap();
    for (k, (bad, why)) in cases.iter().enumerate() {
        let input = dir.path().join(format!("bad{k}.tfrecord"));
        let mut w = Writer::create(&input).unwrap();
        for payload in [&good[..], &good, bad, &good] {
            w.write_record(payload).unwrap();
        }
        w.finish().unwrap();
        for stack in [false, true] {
            let mut args = vec!["unpack", "--out-dir", s(&out), s(&input)];
            if stack {
                args.push("--stack");
            }
            let err = fails(&args);
            let offset = 2 * (good.len() + 16);
            let at = format!("tfrec: {}: record 2 at offset {offset}: ", s(&input));
            assert!(err.starts_with(&at) && err.contains(why), "{err}");
            assert_eq!(dir_entries(&out), ["keep.txt"], "{err}");
        }
    }
    let err = fails(&["unpack", "--shuffle", "1", "--out-dir", s(&out), "-"]);
    assert!(err.contains("stdin cannot be shuffled"), "{err}");
    let err = fails(&["unpack", "--out-dir", s(&out), "--stem", ".x", "-"]);
    assert!(err.contains("stem"), "{err}");
    let missing = dir.path().join("missing.tfrecord");
    let err = fails(&[
        "unpack",
        "--out-dir",
        s(&dir.path().join("new")),
        s(&missing),
    ]);
    assert!(err.contains("missing.tfrecord"), "{err}");
    assert!(!dir.path().join("new").exists());
    assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn what_a_killed_run_of_the_stem_left_is_removed_first() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("k.tfrecord");
    write_records(&input, &mixed_tensors(), Compression::None);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let left = [".k-3.npy.Ab12.tmp", ".k.int64.scalar.npy.x9.tmp"];
    let kept = [".other-3.npy.Ab12.tmp", "k-99999.npy"];
    for name in left.iter().chain(&kept) {
        std::fs::write(out.join(name), b"partial").unwrap();
    }
    ok(&["unpack", "--out-dir", s(&out), s(&input)]);
    let mut want: Vec<String> = (0..mixed_tensors().len())
        .map(|i| format!("k-{i:05}.npy"))
        .chain(kept.iter().map(|n| n.to_string()))
        .collect();
    want.sort();
    assert_eq!(dir_entries(&out), want);
}

/// TensorFlow's own files (testdata/, written by `tf.io.serialize_tensor`)
/// without the records `.npy` cannot hold exactly: each string tensor with
/// an element ending in NUL. Returns the tensors and the file.
fn tensorflow_file(dir: &Path, name: &str) -> (Vec<Tensor>, PathBuf) {
    let source = tf::root().join("testdata").join(name);
    let mut reader = Reader::open(&source).unwrap();
    let path = dir.join("tf.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    let mut tensors = Vec::new();
    let mut refused = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let t = Tensor::decode(&record.payload).unwrap();
        if tfrec::npy::check_lossless(&t).is_err() && t.dtype() == DType::String {
            refused.push(record.index);
            continue;
        }
        w.write_record(&record.payload).unwrap();
        tensors.push(t);
    }
    w.finish().unwrap();
    assert_eq!(refused, [38, 39], "the NUL-ended string records of {name}");
    (tensors, path)
}

/// What `--bf16-as float32` turns `t` into: every bit kept, NaN payloads
/// (signalling ones too) included.
fn widened(t: &Tensor) -> Tensor {
    if t.dtype() != DType::BF16 {
        return t.clone();
    }
    let wide: Vec<f32> = t
        .to_vec::<bf16>()
        .unwrap()
        .iter()
        .map(|b| f32::from_bits(u32::from(b.to_bits()) << 16))
        .collect();
    Tensor::from_slice(&wide, t.shape()).unwrap()
}

#[test]
fn tensorflow_files_unpack_and_the_refused_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tensors.tfrecord", "tensors.gz.tfrecord"] {
        let source = tf::root().join("testdata").join(name);
        let out = dir.path().join(format!("whole-{name}"));
        let err = fails(&[
            "unpack",
            "--bf16-as",
            "float32",
            "--out-dir",
            s(&out),
            s(&source),
        ]);
        assert!(
            err.contains("record 38 at offset") && err.contains("NUL"),
            "{err}"
        );
        assert!(!out.exists() || dir_entries(&out).is_empty());

        let (tensors, path) = tensorflow_file(dir.path(), name);
        let out = dir.path().join(format!("out-{name}"));
        ok(&[
            "unpack",
            "--bf16-as",
            "float32",
            "--out-dir",
            s(&out),
            s(&path),
        ]);
        let files = npy_files(&out);
        assert_eq!(files.len(), tensors.len());
        for (file, t) in files.iter().zip(&tensors) {
            let want = widened(t);
            assert_eq!(
                std::fs::read(file).unwrap(),
                write_npy(&want).unwrap(),
                "{file:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Against numpy itself.
// ---------------------------------------------------------------------------

/// Runs `npy_helper.py ARGS` and returns its stdout.
fn npy_helper(py: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(tf::root().join("tests/npy_helper.py"))
        .args(args)
        .output()
        .expect("run npy_helper.py");
    assert!(
        out.status.success(),
        "npy_helper {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
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
    ok(&[
        "unpack",
        "--bf16-as",
        "float32",
        "--out-dir",
        s(&out),
        s(&path),
    ]);
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
