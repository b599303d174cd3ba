//! Command-line flags for the benchmark examples (`iterate_bench`,
//! `parse_examples`): `--name VALUE` pairs among the arguments.
//!
//! Knows nothing of datasets or files; a module of the examples, not of
//! the library, which parses no command lines.

use std::error::Error;
use std::str::FromStr;

/// The value after `name` among `args`, or `default` when `name` is not
/// there; an error when the value is missing or does not parse.
pub fn arg<T: FromStr>(args: &[String], name: &str, default: T) -> Result<T, Box<dyn Error>> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a value"))?
            .parse()
            .map_err(|_| format!("bad value for {name}").into()),
        None => Ok(default),
    }
}
