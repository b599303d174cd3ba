//! `tfrec verify` and `tfrec stats` check a file as what it holds: files of
//! Examples, SequenceExamples, tensors and a mix, written by TensorFlow
//! (`tests/tf_kinds_helper.py`), plain and gzip; every kind forced with
//! `--as`; damaged records named. Beam-written raw files are covered in
//! `tests/interop_beam.rs`.
//!
//! TensorFlow runs in a subprocess with the Python from `TFREC_PYTHON`, or
//! `.venv/bin/python`. Without TensorFlow the tests that need it are
//! skipped with a message, unless `TFREC_REQUIRE_TF=1`, when they fail.

mod common;

use std::io::{Read, Write as _};
use std::path::Path;

use common::cli::{self, Run};
use common::process::stdout_ok;
use common::python::helper_command;
use common::tf;
use tfrec::example::{self, Example, RecordKind};
use tfrec::{Reader, Tensor, Writer};

/// One file the helper wrote: its name and what each record was built as.
struct Written {
    name: String,
    kinds: Vec<String>,
}

fn tf_files(py: &Path, dir: &Path) -> Vec<Written> {
    stdout_ok(helper_command(py, "tf_kinds_helper.py").arg(dir))
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            Written {
                name: v["name"].as_str().unwrap().to_string(),
                kinds: v["kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect(),
            }
        })
        .collect()
}

/// What the file is made of, by how the helper built its records.
fn holds(name: &str) -> &'static str {
    match name.split('.').next().unwrap() {
        "examples" | "strays" => "example",
        "sequence" => "sequence_example",
        "tensors" => "tensor",
        "mixed" => "raw",
        other => panic!("unknown file {other}"),
    }
}

/// Whether a record built as `built` is a valid `kind` (the `--as` name).
fn built_fits(kind: &str, built: &str) -> bool {
    match kind {
        "tensor" => built == "tensor",
        "example" => matches!(built, "example" | "empty"),
        "sequence" | "sequence_example" => {
            matches!(built, "example" | "empty" | "sequence_example")
        }
        "raw" => true,
        other => panic!("unknown kind {other}"),
    }
}

fn summary_kind(as_kind: &str) -> &str {
    if as_kind == "sequence" {
        "sequence_example"
    } else {
        as_kind
    }
}

/// Runs `tfrec ARGS` in `dir` with `stdin` (or nothing) fed to it; every
/// command run here prints text.
fn tfrec(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    cli::tfrec_with_stdin(dir, args, stdin.unwrap_or_default()).text_only()
}

/// (offset, payload) of every record, read with the library.
fn records(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut reader = Reader::open(path).unwrap();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record() {
        let r = r.unwrap();
        out.push((r.offset, r.payload.to_vec()));
    }
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// The problem lines a run printed, as (record index, offset); each must
/// name `file` (when given).
fn named_records(run: &Run, file: Option<&str>) -> Vec<(u64, u64)> {
    run.stderr_lines()
        .iter()
        .map(|line| {
            if let Some(file) = file {
                assert!(line.contains(&format!("{file}: record ")), "{line}\n{run}");
            }
            let (_, rest) = line.split_once("record ").unwrap();
            let (index, rest) = rest.split_once(" at offset ").unwrap();
            let (offset, _) = rest.split_once(':').unwrap();
            (index.parse().unwrap(), offset.parse().unwrap())
        })
        .collect()
}

/// The records of `built` that are not a valid `kind`, as (index, offset).
fn misfits(kind: &str, built: &[String], at: &[(u64, Vec<u8>)]) -> Vec<(u64, u64)> {
    built
        .iter()
        .zip(at)
        .enumerate()
        .filter(|(_, (b, _))| !built_fits(kind, b))
        .map(|(i, (_, (offset, _)))| (i as u64, *offset))
        .collect()
}

#[test]
fn verify_and_stats_check_each_tensorflow_file_as_what_it_holds() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let files = tf_files(&py, d);
    assert_eq!(files.len(), 10);
    for file in &files {
        let name = file.name.as_str();
        let at = records(&d.join(name));
        assert_eq!(at.len(), file.kinds.len(), "{name}");
        let frame_bytes: usize = at.iter().map(|(_, p)| p.len() + 16).sum();
        let kind = holds(name);
        let bad = misfits(kind, &file.kinds, &at);
        // Only the strays file has records of another kind: three tensors.
        assert_eq!(bad.len(), if name.starts_with("strays") { 3 } else { 0 });

        // From the file, and (decided in one pass) from stdin.
        let bytes = std::fs::read(d.join(name)).unwrap();
        for (arg, stdin) in [(name, None), ("-", Some(&bytes[..]))] {
            let run = tfrec(d, &["verify", arg], stdin);
            let verdict = if bad.is_empty() { "ok" } else { "FAILED" };
            assert_eq!(
                run.text(),
                format!(
                    "{arg}\t{verdict}\t{kind}\t{} records\t{frame_bytes} bytes\n",
                    at.len()
                ),
                "{run}"
            );
            assert_eq!(run.code, Some(i32::from(!bad.is_empty())), "{run}");
            let named = named_records(&run, (arg != "-").then_some(name));
            assert_eq!(named, bad, "{name} via {arg}\n{run}");
            for line in run.stderr_lines() {
                assert!(
                    line.contains("not a tensor") || line.contains("invalid example"),
                    "{line}"
                );
            }
        }

        // Stats: no errors whatever the records hold; records, bytes, the
        // kind, the kinds counted, payload sizes.
        let run = tfrec(d, &["stats", "--json", name], None);
        assert_eq!(run.code, Some(0), "{run}");
        assert!(run.stderr.is_empty(), "{run}");
        let v: serde_json::Value = serde_json::from_str(run.text()).unwrap();
        assert_eq!(v["records"], at.len() as u64, "{name}");
        assert_eq!(v["bytes"], frame_bytes as u64, "{name}");
        assert_eq!(v["holds"], kind, "{name}");
        let sizes: Vec<usize> = at.iter().map(|(_, p)| p.len()).collect();
        assert_eq!(v["sizes"]["min"], *sizes.iter().min().unwrap() as u64);
        assert_eq!(v["sizes"]["max"], *sizes.iter().max().unwrap() as u64);
        let count = |k: &str| file.kinds.iter().filter(|b| *b == k).count() as u64;
        assert_eq!(v["sizes"]["empty"], count("empty"));
        if kind != "tensor" {
            assert_eq!(v["kinds"]["tensor"], count("tensor"), "{name}");
            assert_eq!(v["kinds"]["example"], count("example"), "{name}");
            assert_eq!(
                v["kinds"]["sequence_example"],
                count("sequence_example"),
                "{name}"
            );
            assert_eq!(v["kinds"]["raw"], count("raw") + count("empty"), "{name}");
        }
        let text = tfrec(d, &["stats", name], None);
        assert!(
            text.text().contains(&format!("\nholds\t{kind}\n")),
            "{text}"
        );
    }
}

#[test]
fn every_kind_can_be_forced_with_as() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for file in tf_files(&py, d) {
        let name = file.name.as_str();
        let at = records(&d.join(name));
        for kind in ["tensor", "example", "sequence", "raw"] {
            let bad = misfits(kind, &file.kinds, &at);
            let what = format!("{name} --as {kind}");

            let run = tfrec(d, &["verify", "--as", kind, name], None);
            assert_eq!(run.code, Some(i32::from(!bad.is_empty())), "{what}\n{run}");
            let verdict = if bad.is_empty() { "ok" } else { "FAILED" };
            assert!(
                run.text().starts_with(&format!(
                    "{name}\t{verdict}\t{}\t{} records\t",
                    summary_kind(kind),
                    at.len()
                )),
                "{what}\n{run}"
            );
            assert_eq!(named_records(&run, Some(name)), bad, "{what}\n{run}");

            let run = tfrec(d, &["stats", "--json", "--as", kind, name], None);
            assert_eq!(run.code, Some(i32::from(!bad.is_empty())), "{what}\n{run}");
            assert_eq!(named_records(&run, Some(name)), bad, "{what}\n{run}");
            let v: serde_json::Value = serde_json::from_str(run.text()).unwrap();
            assert_eq!(v["records"], at.len() as u64, "{what}");
        }
    }
}

/// Flips one payload bit of record `index` in an uncompressed file's bytes.
fn flip_payload_bit(bytes: &mut [u8], at: &[(u64, Vec<u8>)], index: usize) {
    let (offset, payload) = &at[index];
    let byte = *offset as usize + 12 + payload.len() / 2;
    bytes[byte] ^= 0x10;
}

#[test]
fn a_damaged_record_is_named_in_every_kind_of_file() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for file in tf_files(&py, d) {
        let name = file.name.as_str();
        let at = records(&d.join(name));
        // A non-empty record past the middle.
        let index = (at.len() / 2..at.len())
            .find(|&i| !at[i].1.is_empty())
            .unwrap();
        let original = std::fs::read(d.join(name)).unwrap();
        let gz = name.ends_with(".gz");
        let mut plain = if gz { gunzip(&original) } else { original };
        flip_payload_bit(&mut plain, &at, index);
        let damaged = format!("damaged-{name}");
        std::fs::write(
            d.join(&damaged),
            if gz { gzip(&plain) } else { plain.clone() },
        )
        .unwrap();

        let kind = holds(name);
        let strays = misfits(kind, &file.kinds, &at);
        for (args, forced) in [
            (vec!["verify", damaged.as_str()], false),
            (vec!["verify", "--as", "raw", damaged.as_str()], true),
        ] {
            let run = tfrec(d, &args, None);
            let what = format!("{args:?}");
            assert_eq!(run.code, Some(1), "{what}\n{run}");
            let named = named_records(&run, Some(&damaged));
            assert!(
                named.contains(&(index as u64, at[index].0)),
                "{what}: record {index}\n{run}"
            );
            let crc_lines: Vec<&str> = run
                .stderr_lines()
                .into_iter()
                .filter(|l| l.contains("corrupt data"))
                .collect();
            assert_eq!(crc_lines.len(), 1, "{what}\n{run}");
            assert!(crc_lines[0].contains(&format!("record {index} at offset ")));
            // The damaged record does not change the kind decided.
            let expect = if forced { "raw" } else { kind };
            assert!(
                run.text()
                    .starts_with(&format!("{damaged}\tFAILED\t{expect}\t")),
                "{what}\n{run}"
            );
            // A damaged record is named once, for its CRC, even a stray.
            let others = if forced {
                0
            } else {
                strays.iter().filter(|(i, _)| *i != index as u64).count()
            };
            assert_eq!(named.len(), 1 + others, "{what}\n{run}");
        }
        // Stats stops at damage, naming it.
        let run = tfrec(d, &["stats", &damaged], None);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(
            run.stderr
                .contains(&format!("record {index} at offset {}", at[index].0)),
            "{run}"
        );
    }
}

#[test]
fn an_unknown_field_makes_a_record_no_example() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut payloads: Vec<Vec<u8>> = (0..6)
        .map(|i| example::encode(&Example::default().int64("label", [i])))
        .collect();
    payloads[4].extend([0x18, 0x01]); // field 3, unknown to Example
    let mut w = Writer::create(d.join("e.tfrecord")).unwrap();
    let mut offsets = Vec::new();
    let mut pos = 0u64;
    for p in &payloads {
        w.write_record(p).unwrap();
        offsets.push(pos);
        pos += p.len() as u64 + 16;
    }
    w.finish().unwrap();
    assert!(tfrec::example::ExampleView::parse(&payloads[4]).is_ok());
    assert_eq!(RecordKind::detect(&payloads[4]), RecordKind::Raw);

    for args in [
        vec!["verify", "e.tfrecord"],
        vec!["verify", "--as", "example", "e.tfrecord"],
    ] {
        let run = tfrec(d, &args, None);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run
            .text()
            .starts_with("e.tfrecord\tFAILED\texample\t6 records\t"));
        assert_eq!(named_records(&run, Some("e.tfrecord")), [(4, offsets[4])]);
        assert!(run.stderr.contains("unknown field 3"), "{run}");
    }
    let run = tfrec(d, &["verify", "--as", "tensor", "e.tfrecord"], None);
    assert_eq!(run.code, Some(1));
    assert_eq!(named_records(&run, Some("e.tfrecord")).len(), 6, "{run}");
}

#[test]
fn a_tensor_file_verifies_as_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut w = Writer::create(d.join("t.tfrecord")).unwrap();
    for i in 0..40u16 {
        w.write_tensor(&Tensor::from_slice(&[i; 9], &[3, 3]).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let run = tfrec(d, &["verify", "t.tfrecord", "--no-mmap"], None);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run
        .text()
        .starts_with("t.tfrecord\tok\ttensor\t40 records\t"));
    let run = tfrec(d, &["verify", "--as", "example", "t.tfrecord"], None);
    assert_eq!(run.code, Some(1));
    assert_eq!(named_records(&run, Some("t.tfrecord")).len(), 40);
}
