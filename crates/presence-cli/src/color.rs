//! `--color auto|always|never`: whether logs (and clap's help and errors) are coloured.
//!
//! `auto` colours only when the stream is a terminal; `NO_COLOR` (set and not empty) turns
//! colour off and `CLICOLOR_FORCE` (set and not `0`) turns it on even through a pipe, as
//! <https://no-color.org> and <https://bixense.com/clicolors/> describe. `NO_COLOR` wins.

use std::ffi::OsString;
use std::io::IsTerminal as _;

use crate::args::ColorChoice;

/// Whether to colour a stream that is (or is not) a terminal.
pub(crate) fn enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    decide(
        choice,
        is_terminal,
        std::env::var_os("NO_COLOR"),
        std::env::var_os("CLICOLOR_FORCE"),
    )
}

/// Whether to colour stderr (where logs, errors and `--verbose` go).
pub(crate) fn stderr(choice: ColorChoice) -> bool {
    enabled(choice, std::io::stderr().is_terminal())
}

fn decide(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<OsString>,
    force: Option<OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                is_terminal
            }
        }
    }
}

/// The `--color` given on the command line (before clap has parsed it, so that usage errors
/// and help are coloured as asked): the last `--color WHEN` or `--color=WHEN`, else auto.
pub(crate) fn from_raw_args(raw: &[OsString]) -> ColorChoice {
    let mut choice = ColorChoice::Auto;
    let mut args = raw.iter().map(|a| a.to_str().unwrap_or_default());
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--color") {
            Some("") => args.next().unwrap_or_default(),
            Some(rest) => rest.strip_prefix('=').unwrap_or("-"),
            None => continue,
        };
        choice = match value {
            "always" => ColorChoice::Always,
            "never" => ColorChoice::Never,
            _ => ColorChoice::Auto,
        };
    }
    choice
}

/// clap's own setting for `choice` (help and usage errors on stdout/stderr).
pub(crate) fn for_clap(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
        ColorChoice::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                clap::ColorChoice::Never
            } else if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0")
            {
                clap::ColorChoice::Always
            } else {
                clap::ColorChoice::Auto
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)]
    fn os(s: &str) -> Option<OsString> {
        Some(s.into())
    }

    #[test]
    fn auto_follows_the_terminal_and_the_variables() {
        use ColorChoice::{Always, Auto, Never};
        assert!(decide(Auto, true, None, None));
        assert!(!decide(Auto, false, None, None));
        assert!(!decide(Auto, true, os("1"), None));
        assert!(decide(Auto, true, os(""), None), "empty NO_COLOR is unset");
        assert!(decide(Auto, false, None, os("1")));
        assert!(!decide(Auto, false, None, os("0")));
        assert!(!decide(Auto, false, os("1"), os("1")), "NO_COLOR wins");
        assert!(decide(Always, false, os("1"), None));
        assert!(!decide(Never, true, None, os("1")));
    }

    #[test]
    fn reads_the_flag_before_parsing() {
        let raw = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            from_raw_args(&raw(&["p", "--color", "always"])),
            ColorChoice::Always
        );
        assert_eq!(
            from_raw_args(&raw(&["p", "--color=never", "x"])),
            ColorChoice::Never
        );
        assert_eq!(from_raw_args(&raw(&["p", "here-now"])), ColorChoice::Auto);
    }
}
