//! A process writing shards is killed with SIGKILL at random moments;
//! afterwards every final-named shard is whole: it passes `verify`, agrees
//! with its `.idx` sidecar, and holds exactly the records it should. The
//! temporary files left behind are never visible under a final name and
//! `cleanup` removes them.
//!
//! The kill moments come from a seeded generator; set `TFREC_CRASH_SEED`
//! to replay a failure (the seed is printed with every assertion).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{dir_entries_if_any, Rng};
use tfrec::write::sharded::{cleanup, Manifest};
use tfrec::{ReadOptions, Reader, Tensor, Writer};

const BIN: &str = env!("CARGO_BIN_EXE_tfrec");
const RECORDS: usize = 2000;
const PER_SHARD: usize = 20;
const ITERATIONS: usize = 12;

fn input(path: &Path) -> Vec<Vec<u8>> {
    let mut w = Writer::create(path).unwrap();
    let mut payloads = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let cols = 256 + i % 64;
        let t = Tensor::from_slice(&vec![i as f32; 8 * cols], &[8, cols]).unwrap();
        let p = t.to_proto_bytes();
        w.write_record(&p).unwrap();
        payloads.push(p);
    }
    w.finish().unwrap();
    payloads
}

/// `tfrec convert` arguments for iteration `i`: fsync on or off, plain or
/// compressed shards.
fn args(i: usize, input: &Path, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "convert",
        input.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--stem",
        "data",
        "--records-per-shard",
        &PER_SHARD.to_string(),
    ]
    .map(String::from)
    .to_vec();
    if i % 3 == 2 {
        a.push("--no-fsync".into());
    }
    if i % 4 == 3 {
        a.extend(["--compression".into(), "gzip".into()]);
    }
    a
}

/// Checks what a killed (or finished) job left in `dir`; returns how many
/// shards were visible.
fn check_dir(dir: &Path, payloads: &[Vec<u8>], what: &str) -> usize {
    let names = dir_entries_if_any(dir);
    let mut counts = Vec::new();
    let mut shards = Vec::new();
    let mut manifest = false;
    for name in names.iter().filter(|n| !n.starts_with('.')) {
        if name == "data.manifest.json" {
            manifest = true;
            continue;
        }
        let rest = name
            .strip_prefix("data-")
            .unwrap_or_else(|| panic!("{what}: unexpected visible file {name}"));
        if rest.ends_with(".idx") {
            let shard = name.trim_end_matches(".idx");
            assert!(
                names.iter().any(|n| n == shard) || !manifest,
                "{what}: {name}"
            );
            continue;
        }
        // Shards are named by their compression.
        let rest = [".tfrecord", ".tfrecord.gz", ".tfrecord.deflate"]
            .iter()
            .find_map(|suffix| rest.strip_suffix(suffix))
            .unwrap_or_else(|| panic!("{what}: unexpected visible file {name}"));
        let (index, count) = rest.split_once("-of-").expect("-of-");
        counts.push(count.to_string());
        shards.push((index.parse::<usize>().unwrap(), name.clone()));
    }
    counts.dedup();
    assert!(
        counts.len() <= 1,
        "{what}: shards of several counts {counts:?}"
    );
    for (index, name) in &shards {
        let path = dir.join(name);
        let report = tfrec::verify::verify_file(&path, ReadOptions::default(), &|_| {})
            .unwrap_or_else(|e| panic!("{what}: {name}: {e}"));
        assert!(report.is_ok(), "{what}: {name}: {:?}", report.problems);
        // Exactly the records this shard is meant to hold, in order.
        let start = index * PER_SHARD;
        let end = (start + PER_SHARD).min(payloads.len());
        let mut reader = Reader::open(&path).unwrap();
        let mut frames = Vec::new();
        let mut got = Vec::new();
        for r in reader.records() {
            let r = r.unwrap();
            frames.push(format!("{} {}", r.offset, r.payload.len() + 16));
            got.push(r.payload.into_owned());
        }
        assert!(
            got == payloads[start..end],
            "{what}: {name} holds other records"
        );
        // Its sidecar is there and agrees with it.
        let idx = std::fs::read_to_string(dir.join(format!("{name}.idx")))
            .unwrap_or_else(|e| panic!("{what}: {name}.idx: {e}"));
        assert_eq!(
            idx.lines().collect::<Vec<_>>(),
            frames,
            "{what}: {name}.idx"
        );
    }
    if manifest {
        let m = Manifest::read(dir.join("data.manifest.json")).unwrap();
        m.check(dir)
            .unwrap_or_else(|e| panic!("{what}: manifest: {e}"));
        assert_eq!(m.records(), payloads.len() as u64, "{what}");
        assert_eq!(m.shards.len(), shards.len(), "{what}");
    }
    // What is left over is hidden, and cleanup removes all of it.
    cleanup(dir, "data").unwrap();
    let hidden = std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with('.'))
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(hidden, 0, "{what}: temporaries left after cleanup");
    shards.len()
}

fn any_visible(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
    })
}

#[test]
fn shards_survive_sigkill_whole_or_not_at_all() {
    let seed = std::env::var("TFREC_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c4a5_u64);
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("input.tfrecord");
    let payloads = input(&input_path);

    // One undisturbed run to learn how long a job takes here.
    let full = dir.path().join("full");
    let t0 = Instant::now();
    let status = Command::new(BIN)
        .args(args(0, &input_path, &full))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let duration = t0.elapsed().max(Duration::from_millis(20));
    assert!(status.success());
    assert_eq!(
        check_dir(&full, &payloads, "undisturbed"),
        RECORDS.div_ceil(PER_SHARD)
    );

    let mut rng = Rng::new(seed | 1);
    let mut visible_after_kill = Vec::new();
    let started = Instant::now();
    for i in 0..ITERATIONS {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "crash test is taking too long"
        );
        let out = dir.path().join(format!("run{i}"));
        let mut child = Command::new(BIN)
            .args(args(i, &input_path, &out))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        if i % 2 == 0 {
            // Anywhere from the start to a little past the usual end.
            std::thread::sleep(duration.mul_f64(0.02 + 1.08 * rng.unit()));
        } else {
            // In the middle of the renames: once the first shard is visible.
            let limit = t0 + duration * 4;
            while Instant::now() < limit && !any_visible(&out) {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_micros(rng.next() % 1000));
        }
        let at = t0.elapsed();
        // Child::kill sends SIGKILL on Unix.
        let _ = child.kill();
        let status = child.wait().unwrap();
        let what = format!("seed {seed:#x}, iteration {i}, killed after {at:?}, {status}");
        visible_after_kill.push(check_dir(&out, &payloads, &what));
        if i % 3 != 0 {
            continue;
        }
        // Cleaned up, the directory takes a new job.
        let rerun = Command::new(BIN)
            .args(args(i, &input_path, &out))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(rerun.success(), "{what}: rerun");
        assert_eq!(
            check_dir(&out, &payloads, &what),
            RECORDS.div_ceil(PER_SHARD)
        );
    }
    eprintln!(
        "seed {seed:#x}: job takes {duration:?}; shards visible after each kill: {visible_after_kill:?}"
    );
}
