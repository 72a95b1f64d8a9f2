//! PostgreSQL groundwork (issue #18), internal: nothing here is reachable from the command line yet, and
//! `--db postgres://` is not accepted until the whole store runs on PostgreSQL. The porting plan is
//! docs/design/postgres-port.md.

pub mod copy;
pub mod copy_back;
mod copy_consistency;
mod copy_gate;
pub mod copy_mark;
pub(crate) mod epoch_watch;
pub mod identity;
pub mod migrate;
#[cfg(test)]
mod nocase;
pub mod params;
pub mod passfile;
mod pool_copy;
pub(crate) mod prepared;
pub mod same_database;
mod statements;
#[cfg(all(test, unix))]
pub(crate) mod test_cluster;
#[cfg(all(test, unix))]
pub(crate) mod test_server;
pub mod twophase;
/// Tests of changes through the engine: a file named `tests.rs`, a test module as far as the
/// import floors are concerned (tests/it/floors.rs), since it drives the store from above.
#[cfg(all(test, unix))]
#[path = "writes/tests.rs"]
mod writes;

/// Whether `url` is a connection string the store can open (a `postgres://` URL or key=value
/// string), without connecting; the parser's words when it is not.
pub fn check_connection(url: &str) -> Result<(), String> {
    if url.trim().is_empty() {
        return Err("it is empty".into());
    }
    url.parse::<postgres::Config>().map(|_| ()).map_err(|e| e.to_string())
}

/// The connection string of a PostgreSQL store given as `--db` (`postgres://` or
/// `postgresql://`, or a key=value string such as `host=db1 dbname=pchat`); `None` for a store
/// file. A key=value string is one wherever a URL is (topology Connections, copy-store): taken
/// as a file path, its password reached messages and Publish made files named after it.
pub fn postgres_url(db: &std::path::Path) -> Option<&str> {
    db.to_str().filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://") || is_key_value(s))
}

fn is_key_value(text: &str) -> bool {
    text.contains('=') && !std::path::Path::new(text).exists() && check_connection(text).is_ok()
}

/// A `postgres://` or `postgresql://` URL (any case), or a key=value string the PostgreSQL
/// client parses (only known keys parse, so `a=b.db` stays a file name) that names no existing
/// file.
pub fn is_connection_string(text: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|s| text.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)))
        || is_key_value(text)
}

/// A hint for a URL whose host part seems to hold a password with an unencoded `@` or space
/// (`postgres://user:p@ss w@host/db`): the client then takes part of the password for the host
/// and reports only "failed to lookup address information". Empty otherwise.
pub fn password_encoding_hint(url: &str) -> &'static str {
    let Some(rest) = ["postgres://", "postgresql://"].iter().find_map(|s| url.strip_prefix(s)) else { return "" };
    let rest = rest.split('?').next().unwrap_or_default();
    let userinfo = rest.rsplit_once('@').map_or("", |(u, _)| u);
    if userinfo.contains(':') && (userinfo.contains('@') || userinfo.contains(' ')) {
        " (the password seems to hold an @ or a space: write it percent-encoded in the URL, %40 for @ and %20 for a space, or give a key=value connection string)"
    } else {
        ""
    }
}

/// "cannot open {what} {url}" with `url` as messages show it and, for a password with an
/// unencoded `@` or space, the hint to encode it: one wording for `--db` and copy-store's source
/// and targets, whose client error alone ("failed to lookup address information") misleads.
pub fn cannot_open(what: &str, url: &str) -> String {
    format!("cannot open {what} {}{}", shown_url(url), password_encoding_hint(url))
}

/// A connection string as messages show it: without its password (a `postgres://user:secret@…`
/// URL, or `password=…` of a key=value string), which would otherwise reach the terminal and the
/// logs with every "unavailable" report.
pub fn shown_url(url: &str) -> String {
    if let Some(scheme) = ["postgres://", "postgresql://"].into_iter().find(|s| url.starts_with(*s)) {
        let rest = &url[scheme.len()..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            return format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]);
        }
        // A password given as a query parameter.
        return redact_password_parameter(url);
    }
    redact_password_parameter(url)
}

/// `password=…` (key=value strings, URL query parameters) replaced by `password=***`.
fn redact_password_parameter(text: &str) -> String {
    static PASSWORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)").expect("a valid pattern")
    });
    PASSWORD.replace_all(text, "${1}***").into_owned()
}

/// What pchat advises where the database `url` names does not exist (it never creates one): the
/// statement that creates it as pchat needs it, the same wherever it is advised.
/// What the reason a pool database is unusable says when only a database dropped and created
/// empty can be repaired (it holds something else: Repair fills an empty database only).
pub const EMPTY_FIRST: &str = "create it again empty and repair";

pub fn create_database_advice(url: &str) -> String {
    let config = url.parse::<postgres::Config>().ok();
    // Without a dbname the server takes the user's name.
    let name = config.as_ref().and_then(|c| c.get_dbname().or(c.get_user())).unwrap_or_default().replace('"', "\"\"");
    format!(
        "have it created with CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' (owned by the role of the Connection)"
    )
}

/// `url` naming the database `name` instead.
pub fn with_database(url: &str, name: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (before_query, query) = match rest.find('?') {
            Some(q) => (&rest[..q], &rest[q..]),
            None => (rest, ""),
        };
        let authority = before_query.split('/').next().unwrap_or("");
        return format!("{}{authority}/{name}{query}", &url[..scheme_end + 3]);
    }
    static DBNAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\bdbname\s*=\s*('(?:[^'\\]|\\.)*'|\S*)").expect("a valid pattern")
    });
    if DBNAME.is_match(url) {
        DBNAME.replace(url, regex::NoExpand(&format!("dbname={name}"))).into_owned()
    } else {
        format!("{url} dbname={name}")
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn an_unencoded_at_or_space_in_a_url_password_gets_a_hint() {
        use super::password_encoding_hint as hint;
        assert!(!hint("postgres://pchat:p@ss w%rd@127.0.0.1:5432/st").is_empty());
        assert!(!hint("postgres://pchat:a@b@db1/st").is_empty());
        assert_eq!(hint("postgres://pchat:p%40ss@db1/st"), "");
        assert_eq!(hint("postgres://pchat@db1/st"), "");
        assert_eq!(hint("postgres://db1/st?user=a@b"), "");
        assert_eq!(hint("postgres://u:p@db1/st?x=a@b"), "");
        assert_eq!(hint("host=db1 password='a b'"), "");
    }

    #[test]
    fn shown_urls_keep_no_password() {
        assert_eq!(shown_url("postgres://pchat:s3cr@t@db1:5432/pool?x=1"), "postgres://pchat:***@db1:5432/pool?x=1");
        assert_eq!(shown_url("postgresql://pchat@db1/pool"), "postgresql://pchat@db1/pool");
        assert_eq!(shown_url("postgres://db1/pool?user=u&password=p%40ss"), "postgres://db1/pool?user=u&password=***");
        assert_eq!(shown_url("host=db1 password='a b' dbname=pool"), "host=db1 password=*** dbname=pool");
        assert_eq!(shown_url("host=db1 PASSWORD = x dbname=pool"), "host=db1 PASSWORD = *** dbname=pool");
    }
}
