//! Credentials from flags, the environment or a file, so that a secret never needs the
//! command line; and [`Secret`], which never prints its value.
//!
//! RTM: the pid from `--pid` or `RTM_PID`; the secret from `--secret-file`, `--secret` or
//! `RTM_SECRET` (in that order: the file overrides the environment). WuKongIM: the uid from
//! `--uid` or `WK_UID`; the token from `--token-file`, `--token` or `WK_TOKEN`. A file gives
//! its first line, without the line end.

use std::path::Path;

use clap::error::ErrorKind;

use crate::exit::Exit;

/// A project secret or a token. Its `Debug` says `<redacted>`; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the listener's credentials only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The first line of the file at `path`, without its line end (`\n` or `\r\n`). `flag` names
/// the option in errors; the content never appears in them.
pub fn read_first_line(path: &Path, flag: &str) -> Result<Secret, Exit> {
    let bytes = std::fs::read(path).map_err(|e| {
        Exit::usage(
            ErrorKind::ValueValidation,
            format!("{flag} {}: {e}", path.display()),
        )
    })?;
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| {
        Exit::usage(
            ErrorKind::ValueValidation,
            format!("{flag} {}: the first line is not UTF-8", path.display()),
        )
    })?;
    if text.is_empty() {
        return Err(Exit::usage(
            ErrorKind::ValueValidation,
            format!("{flag} {}: the first line is empty", path.display()),
        ));
    }
    Ok(Secret(text.to_owned()))
}

/// Where a secret may come from: a flag, its environment variable, a file option.
struct Sources<'a> {
    /// The flag or environment value (clap reads both).
    value: Option<&'a Secret>,
    /// The file option's value.
    file: Option<&'a Path>,
    /// The flag's name.
    flag: &'static str,
    /// The file option's name.
    file_flag: &'static str,
    /// The environment variable.
    env: &'static str,
}

/// The file's first line when the file option is given (it overrides the environment, but
/// both the flag and the file option on the command line are an error), else the flag or
/// environment value.
fn pick(s: Sources<'_>) -> Result<Option<Secret>, Exit> {
    match (s.file, s.value) {
        (Some(path), value) => {
            // A value that is not the environment's came from the flag.
            let from_env = std::env::var(s.env).ok();
            if value.is_some_and(|v| from_env.as_deref() != Some(v.expose())) {
                return Err(Exit::usage(
                    ErrorKind::ArgumentConflict,
                    format!("{} and {} cannot be used together", s.flag, s.file_flag),
                ));
            }
            read_first_line(path, s.file_flag).map(Some)
        }
        (None, value) => Ok(value.filter(|v| !v.is_empty()).cloned()),
    }
}

/// What a real RTM gateway needs.
#[derive(Debug)]
pub struct RtmCredentials {
    /// The project id.
    pub pid: u32,
    /// The project secret.
    pub secret: Secret,
}

/// The RTM credentials for `--endpoint`: a missing pid or secret is a usage error.
pub fn rtm(
    pid: Option<u32>,
    secret: Option<&Secret>,
    secret_file: Option<&Path>,
) -> Result<RtmCredentials, Exit> {
    let secret = pick(Sources {
        value: secret,
        file: secret_file,
        flag: "--secret",
        file_flag: "--secret-file",
        env: "RTM_SECRET",
    })?;
    match (pid, secret) {
        (Some(pid), Some(secret)) => Ok(RtmCredentials { pid, secret }),
        (pid, secret) => {
            let mut missing = Vec::new();
            if pid.is_none() {
                missing.push("the project id (--pid N or RTM_PID)");
            }
            if secret.is_none() {
                missing.push("the secret (--secret-file FILE, RTM_SECRET or --secret S)");
            }
            Err(Exit::usage(
                ErrorKind::MissingRequiredArgument,
                format!("--endpoint needs {}", missing.join(" and ")),
            ))
        }
    }
}

/// What a real WuKongIM server needs.
#[derive(Debug)]
pub struct WkCredentials {
    /// The monitor user's uid.
    pub uid: String,
    /// Its token.
    pub token: Secret,
}

/// The WuKongIM credentials for `--endpoint`: a missing uid or token is a usage error.
pub fn wukong(
    uid: Option<&str>,
    token: Option<&Secret>,
    token_file: Option<&Path>,
) -> Result<WkCredentials, Exit> {
    let token = pick(token_sources(token, token_file))?;
    match (uid.filter(|u| !u.is_empty()), token) {
        (Some(uid), Some(token)) => Ok(WkCredentials {
            uid: uid.to_owned(),
            token,
        }),
        (uid, token) => {
            let mut missing = Vec::new();
            if uid.is_none() {
                missing.push("the monitor uid (--uid UID or WK_UID)");
            }
            if token.is_none() {
                missing.push("its token (--token-file FILE, WK_TOKEN or --token T)");
            }
            Err(Exit::usage(
                ErrorKind::MissingRequiredArgument,
                format!("--endpoint needs {}", missing.join(" and ")),
            ))
        }
    }
}

fn token_sources<'a>(token: Option<&'a Secret>, token_file: Option<&'a Path>) -> Sources<'a> {
    Sources {
        value: token,
        file: token_file,
        flag: "--token",
        file_flag: "--token-file",
        env: "WK_TOKEN",
    }
}

/// The demo's token when none is given (the simulation is configured with the same one).
pub fn demo_token(token: Option<&Secret>, token_file: Option<&Path>) -> Result<Secret, Exit> {
    Ok(pick(token_sources(token, token_file))?.unwrap_or_else(|| Secret("demo-token".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("rtm-listen-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, content).expect("write");
        path
    }

    #[test]
    fn a_file_gives_its_first_line_without_the_line_end() {
        let p = file("crlf", b"s3cret\r\nsecond line\n");
        assert_eq!(
            read_first_line(&p, "--secret-file").unwrap().expose(),
            "s3cret"
        );
        let p = file("lf", b"s3cret\n");
        assert_eq!(
            read_first_line(&p, "--secret-file").unwrap().expose(),
            "s3cret"
        );
        let p = file("bare", b"s3cret");
        assert_eq!(
            read_first_line(&p, "--secret-file").unwrap().expose(),
            "s3cret"
        );
    }

    #[test]
    fn an_empty_missing_or_binary_file_is_a_usage_error_without_the_content() {
        for (name, content) in [("empty", &b"\nx"[..]), ("binary", &b"\xffsecretbits\n"[..])] {
            let p = file(name, content);
            let e = read_first_line(&p, "--secret-file").unwrap_err();
            assert_eq!(e.code(), 2);
            assert!(!format!("{e:?}").contains("secretbits"));
        }
        let e = read_first_line(Path::new("/nonexistent/rtm-secret"), "--secret-file").unwrap_err();
        assert_eq!(e.code(), 2);
    }

    #[test]
    fn the_file_overrides_the_environment_but_conflicts_with_the_flag() {
        let p = file("override", b"from-file\n");
        let sources = |value, env| Sources {
            value,
            file: Some(&p),
            flag: "--secret",
            file_flag: "--secret-file",
            env,
        };
        assert_eq!(
            pick(sources(None, "PATH")).unwrap().unwrap().expose(),
            "from-file"
        );
        // A value equal to the environment variable's came from the environment: the file wins.
        let path = Secret::from(std::env::var("PATH").expect("PATH is set"));
        assert_eq!(
            pick(sources(Some(&path), "PATH"))
                .unwrap()
                .unwrap()
                .expose(),
            "from-file"
        );
        // Any other value came from the flag: both on the command line is an error.
        let flag = Secret::from("from-flag".to_string());
        let e = pick(sources(Some(&flag), "PATH")).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(!format!("{e:?}").contains("from-flag"));
        let c = rtm(Some(7), Some(&flag), None).unwrap();
        assert_eq!(c.secret.expose(), "from-flag");
    }

    #[test]
    fn missing_credentials_say_what_is_missing() {
        let e = rtm(None, None, None).unwrap_err();
        let text = format!("{e:?}");
        assert!(
            text.contains("RTM_PID") && text.contains("RTM_SECRET"),
            "{text}"
        );
        let empty = Secret::from(String::new());
        let e = rtm(Some(1), Some(&empty), None).unwrap_err();
        let text = format!("{e:?}");
        assert!(
            !text.contains("RTM_PID") && text.contains("RTM_SECRET"),
            "{text}"
        );
        let e = wukong(Some("monitor"), None, None).unwrap_err();
        assert!(format!("{e:?}").contains("WK_TOKEN"));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from("hunter2".to_string());
        let c = RtmCredentials {
            pid: 1,
            secret: s.clone(),
        };
        let w = WkCredentials {
            uid: "u".into(),
            token: s,
        };
        let text = format!("{c:?} {c:#?} {w:?} {w:#?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
