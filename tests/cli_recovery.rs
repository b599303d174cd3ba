//! The CLI under damage: `cat --skip-corrupt`, `verify` reporting every
//! problem, and `--no-mmap` giving the same output as mapped reads.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use tfrec::{Tensor, Writer};

fn tfrec(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Ten int32 tensors `[i, i]`; their file and frame offsets (length last).
fn ten() -> (Vec<u8>, Vec<u64>) {
    let mut w = Writer::new(Vec::new());
    let mut lens = Vec::new();
    for i in 0..10i32 {
        let t = Tensor::from_slice(&[i, i], &[2]).unwrap();
        lens.push(t.to_proto_bytes().len());
        w.write_tensor(&t).unwrap();
    }
    (w.finish().unwrap(), frame_offsets(&lens))
}

#[test]
fn cat_skip_corrupt_prints_every_other_record_and_reports_each_skip() {
    let (clean, offsets) = ten();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = clean.clone();
    bytes[offsets[3] as usize + 5] ^= 0x01; // length of record 3
    bytes[offsets[7] as usize + 20] ^= 0x01; // payload of record 7
    fs::write(dir.path().join("bad.tfrecord"), &bytes).unwrap();

    let strict = tfrec(&["cat", "bad.tfrecord"], dir.path());
    assert_eq!(strict.status.code(), Some(1));
    assert_eq!(text(&strict.stdout).lines().count(), 3);
    let err = text(&strict.stderr);
    assert!(
        err.contains(&format!(
            "bad.tfrecord: record 3 at offset {}: corrupt length",
            offsets[3]
        )),
        "{err}"
    );

    let out = tfrec(
        &["cat", "--jsonl", "--skip-corrupt", "bad.tfrecord"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let indices: Vec<u64> = text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let i = v["index"].as_u64().unwrap();
            let t = tfrec::json::tensor_from_json_line(l).unwrap();
            assert_eq!(t.to_vec::<i32>().unwrap(), [i as i32, i as i32]);
            assert_eq!(v["offset"].as_u64(), Some(offsets[i as usize]));
            i
        })
        .collect();
    assert_eq!(indices, [0, 1, 2, 4, 5, 6, 8, 9]);
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    let frame = offsets[1] - offsets[0];
    assert!(
        lines[0].contains(&format!(
            "bad.tfrecord: skipped {frame} bytes at offset {} (record 3): corrupt length",
            offsets[3]
        )),
        "{err}"
    );
    assert!(
        lines[1].contains(&format!(
            "skipped {frame} bytes at offset {} (record 7): corrupt data",
            offsets[7]
        )),
        "{err}"
    );

    let limited = tfrec(
        &[
            "cat",
            "--skip-corrupt",
            "--max-skipped",
            "1",
            "bad.tfrecord",
        ],
        dir.path(),
    );
    assert_eq!(limited.status.code(), Some(1));
    assert_eq!(text(&limited.stdout).lines().count(), 6);
    assert!(text(&limited.stderr).contains("too many damaged records"));

    // Stdin and gzip streams skip the same way.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        e.finish().unwrap()
    };
    fs::write(dir.path().join("bad.tfrecord.gz"), gz).unwrap();
    let zipped = tfrec(
        &["cat", "--jsonl", "--skip-corrupt", "bad.tfrecord.gz"],
        dir.path(),
    );
    assert_eq!(zipped.status.code(), Some(0));
    assert_eq!(
        text(&zipped.stdout).replace("bad.tfrecord.gz", "bad.tfrecord"),
        text(&out.stdout)
    );
}

#[test]
fn cat_skip_corrupt_steps_over_records_that_are_not_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::new(Vec::new());
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    w.write_record(b"\x08\x63").unwrap(); // dtype 99
    w.write_tensor(&Tensor::scalar(3u8)).unwrap();
    fs::write(dir.path().join("f.tfrecord"), w.finish().unwrap()).unwrap();
    let out = tfrec(
        &["cat", "--as", "tensor", "--skip-corrupt", "f.tfrecord"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("f.tfrecord:2\t"), "{lines:?}");
    assert!(text(&out.stderr).contains("f.tfrecord: record 1 at offset"));
    let strict = tfrec(&["cat", "--as", "tensor", "f.tfrecord"], dir.path());
    assert_eq!(strict.status.code(), Some(1));
    // Detected, the record that is not a valid tensor is raw bytes.
    let detected = tfrec(&["cat", "f.tfrecord"], dir.path());
    assert_eq!(detected.status.code(), Some(0));
    let lines: Vec<String> = text(&detected.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], "f.tfrecord:1\traw\t2 bytes\tb\"\\x08c\"");
}

#[test]
fn verify_reports_every_problem_in_a_file() {
    let (clean, offsets) = ten();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = clean.clone();
    bytes[offsets[2] as usize] ^= 0x80; // length of record 2
    bytes[offsets[5] as usize + 10] ^= 0x01; // length CRC of record 5
    bytes[offsets[8] as usize + 14] ^= 0x01; // payload of record 8
    bytes.truncate(bytes.len() - 2); // and a truncated tail
    fs::write(dir.path().join("v.tfrecord"), &bytes).unwrap();
    for extra in [&[][..], &["--no-mmap"][..]] {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        args.push("v.tfrecord");
        let out = tfrec(&args, dir.path());
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        let expected = [
            (2, "corrupt_length", "corrupt length"),
            (5, "corrupt_length", "corrupt length"),
            (8, "corrupt_data", "corrupt data"),
            (9, "truncated_record", "truncated record"),
        ];
        assert_eq!(lines.len(), expected.len(), "{err}");
        for (line, (i, _, words)) in lines.iter().zip(expected) {
            let at = format!("v.tfrecord: record {i} at offset {}: {words}", offsets[i]);
            assert!(line.starts_with(&at), "{line} / {at}");
        }
        assert!(text(&out.stdout).starts_with("v.tfrecord\tFAILED\t"));
    }
}

/// Every command prints the same with and without `--no-mmap`, on sound,
/// damaged and truncated files.
#[test]
fn no_mmap_gives_identical_output() {
    let (clean, offsets) = ten();
    let dir = tempfile::tempdir().unwrap();
    let mut damaged = clean.clone();
    damaged[offsets[4] as usize + 3] ^= 0x04;
    damaged[offsets[6] as usize + 17] ^= 0x04;
    let files = [
        ("clean.tfrecord", clean.clone()),
        ("damaged.tfrecord", damaged),
        ("cut.tfrecord", clean[..clean.len() - 5].to_vec()),
        ("empty.tfrecord", Vec::new()),
    ];
    for (name, bytes) in &files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    let commands: [&[&str]; 7] = [
        &["cat"],
        &["cat", "--jsonl"],
        &["cat", "--skip-corrupt"],
        &["cat", "--shuffle", "3"],
        &["count"],
        &["verify"],
        &["stats", "--json"],
    ];
    for (name, _) in &files {
        for command in commands {
            let mut mapped: Vec<&str> = command.to_vec();
            mapped.push(name);
            let mut plain = vec!["--no-mmap"];
            plain.extend_from_slice(&mapped);
            let a = tfrec(&mapped, dir.path());
            let b = tfrec(&plain, dir.path());
            let what = format!("{mapped:?}");
            assert_eq!(a.status.code(), b.status.code(), "{what}");
            assert_eq!(text(&a.stdout), text(&b.stdout), "{what}");
            assert_eq!(text(&a.stderr), text(&b.stderr), "{what}");
        }
    }
}

#[test]
fn convert_skip_corrupt_salvages_a_damaged_file() {
    let (clean, offsets) = ten();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = clean.clone();
    bytes[offsets[2] as usize + 1] ^= 0x01;
    bytes[offsets[6] as usize + 16] ^= 0x01;
    fs::write(dir.path().join("bad.tfrecord"), &bytes).unwrap();
    let failed = tfrec(
        &["convert", "--out-dir", "out0", "bad.tfrecord"],
        dir.path(),
    );
    assert_eq!(failed.status.code(), Some(1));
    for (out, extra) in [("out1", None), ("out2", Some("7"))] {
        let mut args = vec!["convert", "--out-dir", out, "--skip-corrupt"];
        if let Some(seed) = extra {
            args.extend(["--shuffle", seed]);
        }
        args.push("bad.tfrecord");
        let done = tfrec(&args, dir.path());
        assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
        assert!(
            text(&done.stdout).contains("\t8 records\t"),
            "{}",
            text(&done.stdout)
        );
        assert_eq!(text(&done.stderr).matches("skipped").count(), 2);
        let shard = format!("{out}/bad-00000-of-00001.tfrecord");
        let verified = tfrec(&["verify", &shard], dir.path());
        assert_eq!(
            verified.status.code(),
            Some(0),
            "{}",
            text(&verified.stderr)
        );
        let listed = tfrec(&["cat", &shard], dir.path());
        let mut values: Vec<String> = text(&listed.stdout)
            .lines()
            .map(|l| l.rsplit('\t').next().unwrap().to_string())
            .collect();
        values.sort();
        let expected: Vec<String> = [0, 1, 3, 4, 5, 7, 8, 9]
            .iter()
            .map(|i| format!("[{i}, {i}]"))
            .collect();
        assert_eq!(values, expected);
    }
}
