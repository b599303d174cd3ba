//! Apache Beam reads the shards `tfrec convert` writes, in every
//! compression, detecting it from their names (`ReadFromTFRecord`'s
//! default), and `tfrec` reads the shards Beam's `WriteToTFRecord` writes,
//! plain and gzip: the same multiset of records both ways. Beam's shards
//! hold raw records, which `verify` and `stats` check as such.
//!
//! Beam runs in a subprocess (`tests/beam_helper.py`, DirectRunner) with
//! the Python from `TFREC_BEAM_PYTHON`, or `.venv-beam/bin/python` (made by
//! `.ci/setup-beam-venv.sh`; Beam and TensorFlow pin clashing protobufs, so
//! Beam has a venv of its own). Without Beam these tests are skipped with a
//! message, unless `TFREC_REQUIRE_BEAM=1`, when they fail instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::process::{feed_and_wait, succeeded};
use common::python::{find_python, helper_command, Needs};
use common::{cli, dir_entries};
use tfrec::example::{self, Example, Feature, SequenceExample};
use tfrec::pipeline::Dataset;
use tfrec::{Reader, Tensor, Writer};

/// The Python with Beam, or `None` (after saying so) when absent and not
/// required.
fn beam_python() -> Option<PathBuf> {
    find_python(&Needs {
        what: "Apache Beam",
        python_var: "TFREC_BEAM_PYTHON",
        default: ".venv-beam/bin/python",
        check: "import apache_beam, google_crc32c",
        require_var: "TFREC_REQUIRE_BEAM",
        missing: "apache_beam",
    })
}

/// Runs `beam_helper.py ARGS...` with `records` on stdin; returns stdout.
fn beam(py: &Path, args: &[&str], records: &[Vec<u8>]) -> String {
    let child = helper_command(py, "beam_helper.py")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run beam_helper.py");
    let lines: String = records.iter().map(|r| format!("={}\n", hex(r))).collect();
    let out = feed_and_wait(child, lines.as_bytes());
    let out = succeeded(out, ("beam_helper", args));
    String::from_utf8(out.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// What Beam reads from the files matching `pattern`, sorted.
fn beam_read(py: &Path, pattern: &Path) -> Vec<Vec<u8>> {
    beam(py, &["read", pattern.to_str().unwrap()], &[])
        .lines()
        .map(|l| unhex(l.strip_prefix('=').unwrap()))
        .collect()
}

/// (exit code, stdout, stderr) of `tfrec ARGS` run in `dir`.
fn tfrec(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let run = cli::tfrec(dir, args);
    let stdout = run.text().to_string();
    (run.code, stdout, run.stderr)
}

/// Every record of the files, read with the library, sorted.
fn tfrec_read(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for p in paths {
        let mut reader = Reader::open(p).unwrap();
        while let Some(r) = reader.next_record() {
            all.push(r.unwrap().payload.to_vec());
        }
    }
    all.sort();
    all
}

fn sorted(mut records: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    records.sort();
    records
}

fn glob_paths(pattern: &Path) -> Vec<PathBuf> {
    glob::glob(pattern.to_str().unwrap())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Records of every kind, an empty one among them.
fn mixed_records() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..40u8 {
        out.push(match i % 5 {
            0 => Tensor::from_slice(&[i; 5], &[5]).unwrap().to_proto_bytes(),
            1 => example::encode(&Example::default().int64("i", [i64::from(i)])),
            2 => example::encode(
                &SequenceExample::default().feature_list("s", [Feature::int64_list([1, 2])]),
            ),
            3 if i == 3 => Vec::new(),
            _ => vec![0xff, i, 0, 1, 2],
        });
    }
    out
}

/// Opaque records: a leading 0xff is no protobuf field, so none of these
/// reads as a message or a tensor. One is empty.
fn raw_records() -> Vec<Vec<u8>> {
    (0..50u32)
        .map(|i| match i {
            7 => Vec::new(),
            _ => {
                let mut r = vec![0xff];
                r.extend((0..i * 37 % 300).map(|k| (k * 31 + i) as u8));
                r
            }
        })
        .collect()
}

#[test]
fn beam_reads_what_tfrec_convert_writes_in_every_compression() {
    let Some(py) = beam_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let records = mixed_records();
    let mut w = Writer::create(d.join("in.tfrecord")).unwrap();
    for r in &records {
        w.write_record(r).unwrap();
    }
    w.finish().unwrap();

    for (compression, suffix) in [
        ("none", ".tfrecord"),
        ("gzip", ".tfrecord.gz"),
        ("zlib", ".tfrecord.deflate"),
    ] {
        let out = d.join(compression);
        let (code, stdout, stderr) = tfrec(
            d,
            &[
                "convert",
                "--out-dir",
                out.to_str().unwrap(),
                "--shards",
                "3",
                "--compression",
                compression,
                "in.tfrecord",
            ],
        );
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.starts_with(&format!("{}/in.manifest.json\t3 shards\t", out.display())));
        let names = dir_entries(&out);
        let want: Vec<String> = (0..3)
            .flat_map(|i| {
                let shard = format!("in-{i:05}-of-00003{suffix}");
                [shard.clone(), format!("{shard}.idx")]
            })
            .chain(["in.manifest.json".to_string()])
            .collect();
        let mut want = want;
        want.sort();
        assert_eq!(names, want, "{compression}");
        let manifest = tfrec::write::sharded::Manifest::read(out.join("in.manifest.json")).unwrap();
        assert!(manifest.shards.iter().all(|s| s.name.ends_with(suffix)));
        manifest.check(&out).unwrap();

        // Beam, detecting compression from the names.
        let pattern = out.join(format!("in-*-of-00003{suffix}"));
        assert_eq!(
            beam_read(&py, &pattern),
            sorted(records.clone()),
            "{compression}"
        );
        // gzip itself accepts the gzip shards.
        if compression == "gzip" {
            for path in glob_paths(&pattern) {
                let status = Command::new("gzip").arg("-t").arg(&path).status();
                if let Ok(status) = status {
                    assert!(status.success(), "gzip -t {}", path.display());
                }
            }
        }
        // tfrec's readers find the shards by glob as before.
        let paths = glob_paths(&pattern);
        assert_eq!(paths.len(), 3);
        assert_eq!(tfrec_read(&paths), sorted(records.clone()));
        let ds = Dataset::builder()
            .glob(pattern.to_str().unwrap())
            .build()
            .unwrap();
        assert_eq!(ds.len(), records.len() as u64, "{compression}");
        assert_eq!(ds.paths().len(), 3);
    }
}

#[test]
fn tfrec_reads_what_beam_writes_and_checks_it_as_raw_records() {
    let Some(py) = beam_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let records = raw_records();
    for (compression, suffix) in [("none", ".tfrecord"), ("gzip", ".tfrecord.gz")] {
        let prefix = d.join(format!("beam-{compression}"));
        let written = beam(
            &py,
            &[
                "write",
                prefix.to_str().unwrap(),
                "--shards",
                "3",
                "--compression",
                compression,
                "--suffix",
                suffix,
            ],
            &records,
        );
        let shards: Vec<PathBuf> = written.lines().map(PathBuf::from).collect();
        assert_eq!(shards.len(), 3, "{written}");
        for (i, s) in shards.iter().enumerate() {
            let want = format!("beam-{compression}-{i:05}-of-00003{suffix}");
            assert_eq!(s.file_name().unwrap().to_str().unwrap(), want);
        }
        assert_eq!(
            tfrec_read(&shards),
            sorted(records.clone()),
            "{compression}"
        );

        let names: Vec<&str> = shards
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        // cat reads them all, raw, by content.
        let mut args = vec!["cat", "--jsonl"];
        args.extend(&names);
        let (code, stdout, stderr) = tfrec(d, &args);
        assert_eq!(code, Some(0), "{stderr}");
        let mut catted: Vec<Vec<u8>> = stdout
            .lines()
            .map(|l| {
                use base64::Engine as _;
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                base64::engine::general_purpose::STANDARD
                    .decode(v["raw"].as_str().unwrap())
                    .unwrap()
            })
            .collect();
        catted.sort();
        assert_eq!(catted, sorted(records.clone()));

        // verify: each shard holds raw records, all sound.
        let mut args = vec!["verify"];
        args.extend(&names);
        let (code, stdout, stderr) = tfrec(d, &args);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
        let mut total = 0u64;
        for (line, name) in stdout.lines().zip(&names) {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(&cells[..3], [*name, "ok", "raw"], "{line}");
            total += cells[3]
                .strip_suffix(" records")
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
        assert_eq!(total, records.len() as u64);

        // --as: raw fits everything; as an Example only the empty record
        // fits; as a tensor nothing does.
        for (kind, misfits) in [
            ("raw", 0),
            ("example", records.len() - 1),
            ("sequence", records.len() - 1),
            ("tensor", records.len()),
        ] {
            for command in ["verify", "stats"] {
                let mut args = vec![command, "--as", kind];
                args.extend(&names);
                let (code, _, stderr) = tfrec(d, &args);
                assert_eq!(
                    code,
                    Some(i32::from(misfits > 0)),
                    "{command} --as {kind}\n{stderr}"
                );
                assert_eq!(
                    stderr.lines().count(),
                    misfits,
                    "{command} --as {kind}\n{stderr}"
                );
                for line in stderr.lines() {
                    assert!(
                        names
                            .iter()
                            .any(|n| line.contains(&format!("{n}: record "))),
                        "{line}"
                    );
                    assert!(line.contains(" at offset "), "{line}");
                }
            }
        }

        // stats: records, bytes and sizes, no tensor errors.
        let mut args = vec!["stats", "--json"];
        args.extend(&names);
        let (code, stdout, stderr) = tfrec(d, &args);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let lens: Vec<usize> = records.iter().map(Vec::len).collect();
        assert_eq!(v["records"], records.len() as u64);
        assert_eq!(
            v["bytes"],
            lens.iter().map(|l| l + 16).sum::<usize>() as u64
        );
        assert_eq!(v["holds"], "raw");
        assert_eq!(v["sizes"]["min"], 0);
        assert_eq!(v["sizes"]["max"], *lens.iter().max().unwrap() as u64);
        assert_eq!(v["sizes"]["empty"], 1);
        assert_eq!(v["kinds"]["raw"], records.len() as u64);
        assert_eq!(v["dtypes"], serde_json::json!({}));
    }
}
