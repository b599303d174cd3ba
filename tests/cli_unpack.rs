//! `tfrec unpack`, run as a separate process: every dtype against the
//! library's `.npy` writer (itself checked against numpy's bytes; numpy
//! itself runs in `tests/interop_unpack.rs`), TensorFlow's own files,
//! `--stack`, the order flags, compressed and piped inputs, and the
//! refusals, which leave no file behind.

mod common;

use std::path::Path;

use common::unpack::{
    fails, npy_files, ok, s, tensorflow_file, tfrec_with_stdin, unpack_bf16_as_float32, widened,
    write_records,
};
use common::{dir_entries, mixed_tensors, one_of_each_dtype, pseudo_random_bytes};
use tfrec::example::json::JsonRecord;
use tfrec::npy::{read_npy, write_npy};
use tfrec::{bf16, Compression, DType, Tensor, Writer};

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
            let run = tfrec_with_stdin(&["unpack", "--out-dir", s(&piped), "-"], &bytes);
            assert_eq!(run.code, Some(0), "{run}");
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

    unpack_bf16_as_float32(&out, &input);
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

#[test]
fn tensorflow_files_unpack_and_the_refused_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tensors.tfrecord", "tensors.gz.tfrecord"] {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
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
        unpack_bf16_as_float32(&out, &path);
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
