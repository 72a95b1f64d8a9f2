//! The password file libpq reads (`~/.pgpass`, or the file `PGPASSFILE` names), which the
//! `postgres` crate does not: without it an unattended pchat (cron) could only be given its
//! password in the URL, where `ps` and the shell's history show it.
//!
//! As libpq documents it (https://www.postgresql.org/docs/current/libpq-pgpass.html): used only
//! when the connection string gives no password; lines `hostname:port:database:username:password`,
//! the first four fields each a literal or `*` (anything), `\` escaping `:` and `\`; the first
//! line that matches wins; lines starting with `#` are comments. The host matched is the
//! connection's host name (its address when only `hostaddr` is given), and `localhost` for a
//! Unix-domain socket in the default socket directory; the port defaults to 5432, the user to
//! the operating-system account, the database to the user. On Unix a file that is not a plain
//! file, or that its group or others may read, is not read, with a warning (libpq's words).
//! Where a connection string lists several hosts, the first one's line is used (the `postgres`
//! crate takes one password for all).

use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use std::path::{Path, PathBuf};

/// Connect with `config`, its password taken from the password file when it gives none.
pub fn connect(config: &Config) -> Result<Client, postgres::Error> {
    with_password(config).connect(NoTls)
}

/// `config`, with the password the password file gives for it when it has none of its own.
pub fn with_password(config: &Config) -> Config {
    let mut config = config.clone();
    if config.get_password().is_none()
        && let Some(file) = location()
        && let Some(password) = lookup(&file, &Key::of(&config))
    {
        config.password(password);
    }
    config
}

/// The password file: `PGPASSFILE` when set and not empty, else `~/.pgpass`.
pub fn location() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::home_dir().map(|home| home.join(".pgpass")),
    }
}

/// What a line of the file is matched against.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    host: String,
    port: String,
    database: String,
    user: String,
}

impl Key {
    fn of(config: &Config) -> Key {
        let host = match (config.get_hosts().first(), config.get_hostaddrs().first()) {
            (Some(Host::Tcp(host)), _) => host.clone(),
            #[cfg(unix)]
            (Some(Host::Unix(dir)), _) if is_default_socket_dir(dir) => "localhost".to_string(),
            #[cfg(unix)]
            (Some(Host::Unix(dir)), _) => dir.display().to_string(),
            (None, Some(address)) => address.to_string(),
            (None, None) => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
        // The account the `postgres` crate connects as when the string names no user.
        let user = match config.get_user() {
            Some(user) => user.to_string(),
            None => whoami::username().unwrap_or_default(),
        };
        let database = config.get_dbname().map(str::to_string).unwrap_or_else(|| user.clone());
        Key { host, port, database, user }
    }
}

/// libpq's default socket directory is a build option: `/tmp` upstream, `/var/run/postgresql`
/// on Debian and Red Hat.
#[cfg(unix)]
fn is_default_socket_dir(dir: &Path) -> bool {
    ["/tmp", "/var/run/postgresql", "/run/postgresql"].iter().any(|d| dir == Path::new(d))
}

/// The password of the first line of `file` that matches `key`; None when none does or the
/// file cannot (or, for its permissions, may not) be read.
fn lookup(file: &Path, key: &Key) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if let Some(why) = refusal(&meta) {
        warn_once(&format!("pchat: WARNING: password file \"{}\" {why}; it is not read", file.display()));
        return None;
    }
    let text = std::fs::read(file).ok()?;
    password_in(&String::from_utf8_lossy(&text), key)
}

/// Why libpq would not read a file of this kind and mode (Unix).
#[cfg(unix)]
fn refusal(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    if !meta.is_file() {
        Some("is not a plain file")
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some("has group or world access; permissions should be u=rw (0600) or less")
    } else {
        None
    }
}

#[cfg(not(unix))]
fn refusal(_: &std::fs::Metadata) -> Option<&'static str> {
    None
}

/// Said once a run: a reconnect, or a copy's many connections, would repeat it.
fn warn_once(text: &str) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::SeqCst) {
        crate::streams::warning(text);
    }
}

/// The password the first matching line of a password file's `text` gives.
fn password_in(text: &str, key: &Key) -> Option<String> {
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|line| {
            let rest = field_matches(line, &key.host)?;
            let rest = field_matches(rest, &key.port)?;
            let rest = field_matches(rest, &key.database)?;
            let rest = field_matches(rest, &key.user)?;
            Some(unescaped_password(rest))
        })
}

/// When `line` starts with a field matching `value` (`*`, or `value` with `:` and `\` escaped)
/// and its `:`, the rest of the line after that `:`.
fn field_matches<'a>(line: &'a str, value: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut wanted = value.chars();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        let (c, escaped) = match c {
            '\\' => match chars.next() {
                Some((_, next)) => (next, true),
                None => return None,
            },
            c => (c, false),
        };
        if c == ':' && !escaped {
            return wanted.next().is_none().then(|| &line[i + 1..]);
        }
        if wanted.next() != Some(c) {
            return None;
        }
    }
    None
}

/// The password field: up to an unescaped `:` (libpq ignores what follows), `\` escapes removed.
fn unescaped_password(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str, port: &str, database: &str, user: &str) -> Key {
        Key { host: host.into(), port: port.into(), database: database.into(), user: user.into() }
    }

    #[test]
    fn the_first_matching_line_wins_and_stars_match_anything() {
        let text = "# comment\n\
                    db1:5432:pchat:pchat:first\n\
                    db1:5432:pchat:pchat:second\n\
                    *:*:*:backup:any-host\n\
                    db2:*:pchat_*:pchat:not-a-pattern\n";
        assert_eq!(password_in(text, &key("db1", "5432", "pchat", "pchat")).as_deref(), Some("first"));
        assert_eq!(password_in(text, &key("db9", "6543", "x", "backup")).as_deref(), Some("any-host"));
        // `*` is a whole field only: `pchat_*` is the literal name.
        assert_eq!(password_in(text, &key("db2", "5432", "pchat_sql01", "pchat")), None);
        assert_eq!(password_in(text, &key("db2", "5432", "pchat_*", "pchat")).as_deref(), Some("not-a-pattern"));
        assert_eq!(password_in(text, &key("db1", "5433", "pchat", "pchat")), None);
        assert_eq!(password_in(text, &key("db1", "5432", "pchat", "other")), None);
    }

    #[test]
    fn backslashes_escape_colons_and_backslashes_in_every_field() {
        let text = "fe80\\:\\:1:5432:we\\\\ird:pchat:pa\\:ss\\\\w:ignored\r\n";
        assert_eq!(password_in(text, &key("fe80::1", "5432", "we\\ird", "pchat")).as_deref(), Some("pa:ss\\w"));
        // A line with fewer fields matches nothing.
        assert_eq!(password_in("db1:5432:pchat\n", &key("db1", "5432", "pchat", "pchat")), None);
        // An empty password field is a password (libpq sends it).
        assert_eq!(password_in("db1:5432:pchat:pchat:\n", &key("db1", "5432", "pchat", "pchat")).as_deref(), Some(""));
    }

    #[test]
    fn the_key_defaults_as_the_connection_does() {
        let config: Config = "postgres://pchat@db1/pchat".parse().unwrap();
        assert_eq!(Key::of(&config), key("db1", "5432", "pchat", "pchat"));
        let config: Config = "host=db1 port=6432 user=svc".parse().unwrap();
        assert_eq!(Key::of(&config), key("db1", "6432", "svc", "svc"));
        let config: Config = "host=/var/run/postgresql user=svc dbname=pchat".parse().unwrap();
        assert_eq!(Key::of(&config).host, "localhost");
        let config: Config = "host=/srv/pg/sock user=svc dbname=pchat".parse().unwrap();
        assert_eq!(Key::of(&config).host, "/srv/pg/sock");
        let config: Config = "hostaddr=10.0.0.5 user=svc dbname=pchat".parse().unwrap();
        assert_eq!(Key::of(&config).host, "10.0.0.5");
    }

    /// The file's password is used only when the connection string gives none; a file others
    /// may read is not read (libpq's rule); PGPASSFILE names the file.
    #[cfg(unix)]
    #[test]
    fn a_password_file_fills_only_a_missing_password_and_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "db1:5432:pchat:pchat:from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let wanted = key("db1", "5432", "pchat", "pchat");
        assert_eq!(lookup(&file, &wanted).as_deref(), Some("from-file"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(lookup(&file, &wanted), None, "a file its group may read was read");
        assert_eq!(lookup(dir.path(), &wanted), None, "a folder was read");
        assert_eq!(lookup(&dir.path().join("missing"), &wanted), None);
    }
}
