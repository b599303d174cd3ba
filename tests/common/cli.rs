//! Running the `tfrec` binary as a separate process and checking what must
//! hold for every run: it exited by itself, did not panic, and wrote text
//! to stderr. Knows nothing of what a command should print.

use std::fmt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::process::feed_and_wait;

/// The `tfrec` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tfrec");

/// One finished run of `tfrec`.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 3000;
        let clip = |s: &str| -> String { s.chars().take(SHOWN).collect() };
        write!(
            f,
            "tfrec {:?}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.code,
            clip(&String::from_utf8_lossy(&self.stdout)),
            clip(&self.stderr)
        )
    }
}

impl Run {
    /// Wraps a finished process, checking what must hold for every run:
    /// it exited (no signal), its stderr is text, and it did not panic.
    pub fn new(args: &[&str], out: Output) -> Run {
        let run = Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        };
        assert!(run.code.is_some(), "killed by a signal\n{run}");
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
            "panic\n{run}"
        );
        run
    }

    /// Checks that stdout is text too, for commands that print nothing
    /// else.
    pub fn text_only(self) -> Run {
        self.text();
        self
    }

    /// Stdout, which must be UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.text().lines().collect()
    }

    /// Each stdout line parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout_lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Every line of stderr, blank ones included.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// Exit 0 with nothing on stderr.
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "expected success\n{self}");
        assert_eq!(self.stderr, "", "expected a quiet stderr\n{self}");
        self
    }

    /// Exit 1 with exactly one line on stderr, which contains every one of
    /// `mentions`.
    pub fn fails_with_one_line(&self, mentions: &[&str]) -> &str {
        assert_eq!(self.code, Some(1), "expected exit 1\n{self}");
        let lines = self.stderr_lines();
        assert_eq!(lines.len(), 1, "expected one line on stderr\n{self}");
        for m in mentions {
            assert!(lines[0].contains(m), "stderr should mention {m:?}\n{self}");
        }
        lines[0]
    }

    /// Exit 2 (usage error) with something on stderr.
    pub fn usage_error(&self) {
        assert_eq!(self.code, Some(2), "expected a usage error\n{self}");
        assert!(
            !self.stderr.trim().is_empty(),
            "usage error is silent\n{self}"
        );
    }
}

/// `tfrec ARGS` in `dir`, with stdout and stderr piped and no backtraces
/// asked for.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `tfrec ARGS` in `dir` with `stdin` fed to it.
pub fn tfrec_with_stdin(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let child = command(dir, args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn tfrec");
    Run::new(args, feed_and_wait(child, stdin))
}

/// Runs `tfrec ARGS` in `dir` with an empty stdin.
pub fn tfrec(dir: &Path, args: &[&str]) -> Run {
    tfrec_with_stdin(dir, args, b"")
}
