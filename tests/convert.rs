//! `tfrec convert` and `tfrec pack --out-dir`, run as separate processes.

mod common;

use std::path::Path;

use common::cli::{self, Run};
use common::dir_entries_if_any;
use tfrec::write::sharded::Manifest;
use tfrec::{Compression, Reader, Tensor, Writer};

/// Runs `tfrec ARGS` in `dir`; every command run here prints text.
fn tfrec(dir: &Path, args: &[&str]) -> Run {
    cli::tfrec(dir, args).text_only()
}

fn tfrec_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Run {
    cli::tfrec_with_stdin(dir, args, input).text_only()
}

/// Payloads of every kind: tensors and bytes that are no tensor at all.
fn records(n: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| match i % 3 {
            0 => Tensor::from_slice(&[i as f32 + f32::from(seed); 5], &[5])
                .unwrap()
                .to_proto_bytes(),
            1 => format!("not a tensor {seed} {i}").into_bytes(),
            _ => vec![seed; i * 37 % 500],
        })
        .collect()
}

fn write_input(path: &Path, records: &[Vec<u8>], c: Compression) {
    let mut w = Writer::create_with(path, c).unwrap();
    for r in records {
        w.write_record(r).unwrap();
    }
    w.finish().unwrap();
}

fn read_all(path: &Path) -> Vec<Vec<u8>> {
    let mut r = Reader::open(path).unwrap();
    r.records()
        .map(|r| r.unwrap().payload.into_owned())
        .collect()
}

/// The shards the manifest in `dir` lists, read in order, after checking
/// the manifest against the files.
fn shards(dir: &Path, stem: &str) -> Vec<Vec<Vec<u8>>> {
    let m = Manifest::read(dir.join(Manifest::file_name(stem))).unwrap();
    m.check(dir).unwrap();
    m.shards
        .iter()
        .map(|s| {
            assert!(dir.join(s.index.as_ref().unwrap()).exists());
            read_all(&dir.join(&s.name))
        })
        .collect()
}

fn visible(dir: &Path) -> Vec<String> {
    dir_entries_if_any(dir)
}

#[test]
fn convert_reshards_mixed_inputs_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = records(30, 1);
    let b = records(20, 2);
    write_input(&d.join("part.gz.tfrecord"), &a, Compression::Gzip);
    write_input(&d.join("b.tfrecord"), &b, Compression::None);
    let run = tfrec(
        d,
        &[
            "convert",
            "part.gz.tfrecord",
            "b.tfrecord",
            "--out-dir",
            "out",
            "--records-per-shard",
            "16",
            "--no-fsync",
        ],
    );
    run.success();
    // The default stem is the first input's name without its extensions.
    assert_eq!(
        run.text(),
        "out/part.manifest.json\t4 shards\t50 records\t".to_string()
            + &format!(
                "{} bytes\n",
                a.iter().chain(&b).map(|r| r.len() + 16).sum::<usize>()
            )
    );
    let got = shards(&d.join("out"), "part");
    assert_eq!(
        got.iter().map(Vec::len).collect::<Vec<_>>(),
        [16, 16, 16, 2]
    );
    assert_eq!(got.concat(), [a, b].concat());
    assert!(visible(&d.join("out")).iter().all(|n| !n.starts_with('.')));
}

#[test]
fn convert_fixed_count_and_byte_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = records(40, 3);
    write_input(&d.join("in.tfrecord"), &input, Compression::None);
    tfrec(
        d,
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "n",
            "--shards",
            "3",
            "--stem",
            "x",
        ],
    )
    .success();
    let got = shards(&d.join("n"), "x");
    for (k, shard) in got.iter().enumerate() {
        let want: Vec<Vec<u8>> = input.iter().skip(k).step_by(3).cloned().collect();
        assert_eq!(shard, &want);
    }
    for (size, limit) in [
        ("2KiB", 2048u64),
        ("1k", 1024),
        ("3000", 3000),
        ("2kb", 2000),
    ] {
        let out = format!("bytes-{size}");
        tfrec(
            d,
            &[
                "convert",
                "in.tfrecord",
                "--out-dir",
                &out,
                "--bytes-per-shard",
                size,
            ],
        )
        .success();
        let m = Manifest::read(d.join(&out).join("in.manifest.json")).unwrap();
        assert!(m.shards.len() > 1, "{size}");
        assert!(m.shards.iter().all(|s| s.frame_bytes <= limit), "{size}");
        assert_eq!(shards(&d.join(&out), "in").concat(), input);
    }
    // No sharding option: one shard.
    tfrec(d, &["convert", "in.tfrecord", "--out-dir", "one"]).success();
    assert_eq!(shards(&d.join("one"), "in"), [input]);
}

#[test]
fn convert_compresses_and_decompresses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = records(25, 4);
    write_input(&d.join("in.tfrecord"), &input, Compression::None);
    for c in ["gzip", "zlib"] {
        let packed = format!("{c}-out");
        tfrec(
            d,
            &[
                "convert",
                "in.tfrecord",
                "--out-dir",
                &packed,
                "--shards",
                "2",
                "--compression",
                c,
            ],
        )
        .success();
        let m = Manifest::read(d.join(&packed).join("in.manifest.json")).unwrap();
        assert_eq!(m.compression.name(), c);
        for s in &m.shards {
            let r = Reader::open(d.join(&packed).join(&s.name)).unwrap();
            assert_eq!(r.compression().name(), c);
        }
        // And back: the uncompressed shards equal a direct conversion.
        let inputs: Vec<String> = m
            .shards
            .iter()
            .map(|s| format!("{packed}/{}", s.name))
            .collect();
        let back = format!("{c}-back");
        let mut args = vec!["convert", "--out-dir", &back, "--stem", "in"];
        args.extend(inputs.iter().map(String::as_str));
        tfrec(d, &args).success();
        let mut got = shards(&d.join(&back), "in").concat();
        got.sort();
        let mut want = input.clone();
        want.sort();
        assert_eq!(got, want, "{c}");
    }
}

#[test]
fn convert_shuffles_reproducibly_from_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = records(60, 5);
    let b = records(40, 6);
    write_input(&d.join("a.tfrecord"), &a, Compression::None);
    write_input(&d.join("b.tfrecord"), &b, Compression::Zlib);
    let b_bytes = std::fs::read(d.join("b.tfrecord")).unwrap();
    let run = |seed: &str, out: &str| -> Vec<Vec<u8>> {
        tfrec_stdin(
            d,
            &[
                "convert",
                "a.tfrecord",
                "-",
                "--out-dir",
                out,
                "--shuffle",
                seed,
                "--shards",
                "2",
            ],
            &b_bytes,
        )
        .success();
        assert!(
            visible(&d.join(out)).iter().all(|n| !n.starts_with('.')),
            "spool gone"
        );
        let s = shards(&d.join(out), "a");
        (0..100).map(|i| s[i % 2][i / 2].clone()).collect()
    };
    let first = run("7", "s1");
    assert_eq!(first, run("7", "s2"));
    assert_ne!(first, run("8", "s3"));
    let input = [a, b].concat();
    assert_ne!(first, input);
    let mut sorted = first;
    sorted.sort();
    let mut want = input;
    want.sort();
    assert_eq!(sorted, want);
}

#[test]
fn convert_usage_errors_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_input(&d.join("in.tfrecord"), &records(3, 7), Compression::None);
    let before = visible(d);
    let cases: &[&[&str]] = &[
        &["convert", "in.tfrecord"],
        &["convert", "--out-dir", "o"],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--shards",
            "2",
            "--records-per-shard",
            "3",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--shards",
            "2",
            "--bytes-per-shard",
            "1M",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--records-per-shard",
            "2",
            "--bytes-per-shard",
            "1M",
        ],
        &["convert", "in.tfrecord", "--out-dir", "o", "--shards", "0"],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--records-per-shard",
            "0",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--bytes-per-shard",
            "0",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--bytes-per-shard",
            "10X",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--bytes-per-shard",
            "1.5G",
        ],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--stem",
            ".hidden",
        ],
        &["convert", "in.tfrecord", "--out-dir", "o", "--stem", "a/b"],
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "o",
            "--compression",
            "lz4",
        ],
        &["convert", "in.tfrecord", "--out-dir", "o", "--shuffle", "x"],
        &[
            "pack",
            "--out-dir",
            "o",
            "--shards",
            "2",
            "-o",
            "x.tfrecord",
            "a.jsonl",
        ],
        &["pack", "-o", "x.tfrecord", "--stem", "s", "a.jsonl"],
        &[
            "pack",
            "-o",
            "x.tfrecord",
            "--records-per-shard",
            "2",
            "a.jsonl",
        ],
        &["pack", "--out-dir", "o"],
    ];
    for args in cases {
        tfrec(d, args).usage_error();
    }
    assert_eq!(visible(d), before);
}

#[test]
fn convert_failures_exit_1_and_leave_no_shard() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_input(&d.join("good.tfrecord"), &records(30, 8), Compression::None);
    let mut bad = std::fs::read(d.join("good.tfrecord")).unwrap();
    let len = bad.len();
    bad[len - 10] ^= 0x10;
    std::fs::write(d.join("bad.tfrecord"), bad).unwrap();
    let run = tfrec(
        d,
        &[
            "convert",
            "good.tfrecord",
            "bad.tfrecord",
            "--out-dir",
            "o",
            "--shards",
            "2",
        ],
    );
    run.fails_with_one_line(&["bad.tfrecord", "record 29", "corrupt data"]);
    assert_eq!(visible(&d.join("o")), Vec::<String>::new());
    let run = tfrec(d, &["convert", "missing.tfrecord", "--out-dir", "o2"]);
    run.fails_with_one_line(&["missing.tfrecord"]);
    assert!(!d.join("o2").exists());
    // An output directory that is a file.
    let run = tfrec(
        d,
        &["convert", "good.tfrecord", "--out-dir", "good.tfrecord"],
    );
    run.fails_with_one_line(&["good.tfrecord"]);
}

#[test]
fn convert_removes_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_input(&d.join("in.tfrecord"), &records(5, 9), Compression::None);
    std::fs::create_dir(d.join("o")).unwrap();
    for n in [
        ".in-00003.tfrecord.AbC123.tmp",
        ".in.manifest.json.x.tmp",
        ".other-00000.tfrecord.q.tmp",
    ] {
        std::fs::write(d.join("o").join(n), b"partial").unwrap();
    }
    tfrec(
        d,
        &["convert", "in.tfrecord", "--out-dir", "o", "--shards", "2"],
    )
    .success();
    assert_eq!(
        visible(&d.join("o")),
        [
            ".other-00000.tfrecord.q.tmp",
            "in-00000-of-00002.tfrecord",
            "in-00000-of-00002.tfrecord.idx",
            "in-00001-of-00002.tfrecord",
            "in-00001-of-00002.tfrecord.idx",
            "in.manifest.json",
        ]
    );
}

#[test]
fn pack_writes_shards_with_the_same_options() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tensors: Vec<Tensor> = (0..12)
        .map(|i: i32| Tensor::from_slice(&[i; 3], &[3]).unwrap())
        .collect();
    let jsonl: String = tensors
        .iter()
        .map(|t| serde_json::Value::Object(tfrec::json::tensor_to_json(t)).to_string() + "\n")
        .collect();
    std::fs::write(d.join("t.jsonl"), &jsonl).unwrap();
    std::fs::write(
        d.join("one.npy"),
        tfrec::npy::write_npy(&tensors[0]).unwrap(),
    )
    .unwrap();
    let run = tfrec(
        d,
        &[
            "pack",
            "t.jsonl",
            "one.npy",
            "--out-dir",
            "packed",
            "--records-per-shard",
            "5",
            "--compression",
            "gzip",
            "--no-fsync",
        ],
    );
    run.success();
    assert!(run
        .text()
        .starts_with("packed/t.manifest.json\t3 shards\t13 records\t"));
    let got = shards(&d.join("packed"), "t").concat();
    let mut want: Vec<Vec<u8>> = tensors.iter().map(|t| t.to_proto_bytes()).collect();
    want.push(tensors[0].to_proto_bytes());
    assert_eq!(got, want);
    // Every shard passes verify.
    let files: Vec<String> = Manifest::read(d.join("packed/t.manifest.json"))
        .unwrap()
        .shards
        .iter()
        .map(|s| format!("packed/{}", s.name))
        .collect();
    let mut args = vec!["verify"];
    args.extend(files.iter().map(String::as_str));
    tfrec(d, &args).success();
    // `-o` still writes one file, and takes --no-fsync.
    tfrec(
        d,
        &["pack", "-o", "single.tfrecord", "--no-fsync", "t.jsonl"],
    )
    .success();
    assert_eq!(read_all(&d.join("single.tfrecord")), want[..12]);
    // From stdin, with --shards and a named stem.
    tfrec_stdin(
        d,
        &[
            "pack",
            "-",
            "--out-dir",
            "p2",
            "--shards",
            "4",
            "--stem",
            "s",
        ],
        jsonl.as_bytes(),
    )
    .success();
    assert_eq!(
        shards(&d.join("p2"), "s")
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [3, 3, 3, 3]
    );
}
