//! Running child processes: a run that must succeed, and stdin fed from a
//! thread of its own. Knows nothing of which program runs or what it
//! prints.

use std::fmt::Debug;
use std::io::Write;
use std::process::{Child, Command, Output};

/// `out`, which must be from a run that exited 0; `what` names the run in
/// the message that shows its stderr when it did not.
pub fn succeeded(out: Output, what: impl Debug) -> Output {
    assert!(
        out.status.success(),
        "{what:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, which must exit 0; returns its output.
pub fn output_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    succeeded(out, cmd)
}

/// Runs `cmd`, which must exit 0; returns its stdout, which must be UTF-8.
pub fn stdout_ok(cmd: &mut Command) -> String {
    String::from_utf8(output_ok(cmd).stdout).expect("UTF-8 output")
}

/// Feeds `stdin` to a child spawned with a piped stdin, on a thread of its
/// own, and waits for it.
pub fn feed_and_wait(mut child: Child, stdin: &[u8]) -> Output {
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    // The process may exit without reading everything; a closed pipe here
    // is not a failure of the test.
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for the child");
    feeder.join().expect("stdin feeder");
    out
}
