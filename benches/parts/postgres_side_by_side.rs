//! Issue #18's acceptance benchmarks, quoted side by side: the same four measurements on a SQLite
//! store and on the same store copied into PostgreSQL (`pchat copy-store`), both through the built
//! binary and from the same starting state (topology published, directory imported):
//!
//! 1. a runbook creating `PCHAT_BENCH_PG_ROOMS` rooms (default 100,000) in categories of 100,
//!    each category allowing one department OU (as `rooms` does);
//! 2. `get_cs_persistent_chat_room(#{Member: …})` for one user (median of 10 runs);
//! 3. Get→Set over every room (`get | set Disabled`);
//! 4. `import_cs_persistent_chat_data` of an export holding `PCHAT_BENCH_PG_MESSAGES` messages
//!    (default 1,000,000) in 100 rooms, into sql01 (pc01's primary, with its backup on sql02).
//!
//! Then, on a throwaway server only, the room runbook once more (`PCHAT_BENCH_PG_FSYNC_ROOMS`,
//! default 1,000 rooms) on both sides after turning fsync, synchronous_commit and full_page_writes
//! on: the throwaway server runs without them.
//!
//! PostgreSQL: the server of `PCHAT_BENCH_PG_URL` when given (databases `pchat_bench_<pid>_*` are
//! created there and dropped at the end), else a throwaway one from `scripts/pg-test-cluster`,
//! stopped at the end whatever happens (a `watch` process holds a pipe to this one: it stops the
//! server even when the benchmark is killed). Each result is checked (room, disabled-room and
//! message counts) before it is quoted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{
    Ctx, DEPARTMENTS, LOAD_TIMEOUT, QUICK_TIMEOUT, REGIONS, Row, Samples, Unit, env_count, group_thousands, rhai_str,
    seed_content, time_runs, verdict,
};

const CLUSTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-cluster");
#[path = "../../tests/it/common/instances.rs"]
mod instances;
use instances::INSTANCES;
const ROOMS_PER_CATEGORY: usize = 100;
const CONTENT_ROOMS: usize = 100;
/// A step on PostgreSQL may take many times its SQLite time (100,000 changes at ~10 ms each).
const STEP_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

/// One measurement on both sides: wall time and the pchat process's CPU time (user + system), and
/// on a throwaway server the server's CPU time (its backends', reaped by the postmaster).
#[derive(Clone, Copy, Default)]
struct Side {
    wall: Duration,
    cpu: Duration,
    server_cpu: Option<Duration>,
}

struct Measure {
    name: String,
    n: String,
    items: usize,
    sqlite: Side,
    postgres: Side,
}

pub(super) fn bench_postgres_side_by_side(ctx: &mut Ctx) -> Result<Vec<Row>, String> {
    let rooms = env_count("PCHAT_BENCH_PG_ROOMS", 100_000)?;
    let messages = env_count("PCHAT_BENCH_PG_MESSAGES", 1_000_000)?;
    let fsync_rooms = env_count("PCHAT_BENCH_PG_FSYNC_ROOMS", 1_000)?;
    for (name, n) in [("PCHAT_BENCH_PG_ROOMS", rooms), ("PCHAT_BENCH_PG_FSYNC_ROOMS", fsync_rooms)] {
        if n == 0 || !n.is_multiple_of(ROOMS_PER_CATEGORY) {
            return Err(format!(
                "{name}={n}: a positive multiple of {ROOMS_PER_CATEGORY} (rooms come in categories of 100)"
            ));
        }
    }
    if messages == 0 || !messages.is_multiple_of(CONTENT_ROOMS) {
        return Err(format!(
            "PCHAT_BENCH_PG_MESSAGES={messages}: a positive multiple of {CONTENT_ROOMS} (the export's rooms hold as many each)"
        ));
    }
    let server = Server::start()?;
    let saved = ctx.db.clone();
    let result = side_by_side(ctx, &server, rooms, messages, fsync_rooms);
    ctx.db = saved;
    let stopped = server.stop();
    let (measures, note) = result?;
    stopped?;
    let mut text = String::from("\nPostgreSQL side by side with SQLite (issue #18 acceptance: within 3x)\n\n");
    text.push_str(&side_table(&measures));
    text.push_str(&note);
    ctx.notes.push(text);
    Ok(measures
        .iter()
        .map(|m| {
            let r = ratio(m.postgres.wall, m.sqlite.wall);
            Row {
                name: format!("PostgreSQL: {}", m.name),
                n: m.n.clone(),
                median: Unit::S.fmt(m.postgres.wall),
                p90: "-".into(),
                target: verdict(&format!("within 3x of SQLite's {} ({r:.1}x)", Unit::S.fmt(m.sqlite.wall)), r <= 3.0),
            }
        })
        .collect())
}

fn side_by_side(
    ctx: &mut Ctx,
    server: &Server,
    rooms: usize,
    messages: usize,
    fsync_rooms: usize,
) -> Result<(Vec<Measure>, String), String> {
    // The export to import: seeded in a store of its own, exported from sql01.
    let content = ctx.dir.join("pg-content");
    fs::create_dir_all(&content).map_err(|e| format!("{}: {e}", content.display()))?;
    ctx.db = content.join("pchat.db");
    ctx.pchat(&format!("publish_cs_topology(#{{FileName: {}}})", rhai_str(&ctx.topology)), LOAD_TIMEOUT)?;
    seed_content(ctx, messages, CONTENT_ROOMS, messages / CONTENT_ROOMS)?;
    let zip = ctx.dir.join("pg-content.zip");
    ctx.pchat(
        &format!(
            r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: {}}})"#,
            rhai_str(&zip)
        ),
        LOAD_TIMEOUT,
    )?;

    // The starting state: topology and directory. SQLite runs on it; PostgreSQL on its copy.
    let base = ctx.dir.join("pg-sqlite");
    fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    let sqlite_db = base.join("pchat.db");
    ctx.db = sqlite_db.clone();
    ctx.pchat(&format!("publish_cs_topology(#{{FileName: {}}})", rhai_str(&ctx.topology)), LOAD_TIMEOUT)?;
    ctx.pchat(&format!("import_cs_ad_principal(#{{FileName: {}}})", rhai_str(&ctx.directory)), LOAD_TIMEOUT)?;
    let central = server.database("c");
    let pools: Vec<String> = (0..INSTANCES.len()).map(|i| server.database(&format!("p{}", i + 1))).collect();
    let started = Instant::now();
    copy_store(ctx, &sqlite_db, &central, &pools)?;
    eprintln!("copied the starting store into PostgreSQL in {:.1} s", started.elapsed().as_secs_f64());

    let sides: [(&str, PathBuf, Backend); 2] = [
        ("SQLite", sqlite_db.clone(), Backend::Sqlite(base.clone())),
        ("PostgreSQL", PathBuf::from(&central), Backend::Postgres(pools.clone())),
    ];
    let mut results: Vec<Vec<Side>> = Vec::new();
    let mut labels = Vec::new();
    for (label, db, backend) in &sides {
        eprintln!("  {label} ...");
        ctx.db = db.clone();
        let pg = matches!(backend, Backend::Postgres(_));
        let (steps, names) = steps(ctx, if pg { Some(server) } else { None }, backend, rooms, messages, &zip)?;
        results.push(steps);
        labels = names;
    }
    let mut measures: Vec<Measure> = labels
        .into_iter()
        .zip(results[0].iter().zip(&results[1]))
        .map(|((name, n, items), (s, p))| Measure { name, n, items, sqlite: *s, postgres: *p })
        .collect();

    let settings = if server.throwaway() {
        "PostgreSQL: a throwaway local server (scripts/pg-test-cluster): fsync, synchronous_commit and \
         full_page_writes off (as the test server runs), except the last row, measured after turning all three on."
            .to_string()
    } else {
        "PostgreSQL: the server of PCHAT_BENCH_PG_URL, its own settings.".to_string()
    };
    if server.throwaway() {
        server.durable()?;
        let mut fsync = Measure {
            name: format!("room runbook, {} more rooms, fsync on", group_thousands(fsync_rooms)),
            n: group_thousands(fsync_rooms),
            items: fsync_rooms,
            sqlite: Side::default(),
            postgres: Side::default(),
        };
        for (i, (_, db, _)) in sides.iter().enumerate() {
            ctx.db = db.clone();
            let server = if i == 1 { Some(server) } else { None };
            let side = room_runbook(ctx, server, "Fsync", fsync_rooms, rooms + CONTENT_ROOMS + fsync_rooms)?;
            if i == 0 { fsync.sqlite = side } else { fsync.postgres = side }
        }
        measures.push(fsync);
    }
    let note = format!(
        "\n{settings}\nSQLite: WAL, synchronous = NORMAL (a commit is not flushed to disk; checkpoints are).\n\
         Both sides write pc01's primary and backup (sql01, sql02); PostgreSQL commits every change in two phases\n\
         across the central database and both copies. CPU: the pchat process's user + system time; server CPU:\n\
         the PostgreSQL server's processes (throwaway server only). The machine may be shared: compare CPU too.\n"
    );
    Ok((measures, note))
}

enum Backend {
    /// The folder of the store's files.
    Sqlite(PathBuf),
    /// The pool databases' URLs, by instance.
    Postgres(Vec<String>),
}

type Label = (String, String, usize);

/// The four measurements on the store `ctx.db`, each checked.
fn steps(
    ctx: &mut Ctx,
    server: Option<&Server>,
    backend: &Backend,
    rooms: usize,
    messages: usize,
    zip: &Path,
) -> Result<(Vec<Side>, Vec<Label>), String> {
    let n = group_thousands(rooms);
    let mut sides = Vec::new();
    let mut labels = Vec::new();

    sides.push(room_runbook(ctx, server, "Cat", rooms, rooms)?);
    labels.push((
        format!("runbook creating {} categories and {n} rooms", group_thousands(rooms / 100)),
        n.clone(),
        rooms,
    ));

    // User 0 is in the first department OU: in scope of every 45th category, whose rooms inherit.
    const RUNS: usize = 10;
    let member = r#"get_cs_persistent_chat_room(#{Member: "sip:u000000@contoso.com"}).len()"#;
    let categories = rooms / ROOMS_PER_CATEGORY;
    let expected = categories.div_ceil(REGIONS.len() * DEPARTMENTS.len()) * ROOMS_PER_CATEGORY;
    let mut cpu = Vec::new();
    let s: Samples = time_runs(RUNS, || {
        let t = ctx.pchat_expect(member, &expected.to_string(), QUICK_TIMEOUT)?;
        cpu.push(ctx.last_cpu);
        Ok(t)
    })?;
    cpu.sort();
    sides.push(Side { wall: s.median(), cpu: cpu[cpu.len() / 2], server_cpu: None });
    labels.push((format!("`-Member` query, median of {RUNS} ({expected} rooms)"), n.clone(), 1));

    let disable = "get_cs_persistent_chat_room().set_cs_persistent_chat_room(#{Disabled: true}); ()";
    sides.push(timed(ctx, server, disable)?);
    expect(ctx, "get_cs_persistent_chat_room(#{Disabled: true}).len()", rooms)?;
    labels.push((format!("Get→Set Disabled over {n} rooms"), n.clone(), rooms));

    let before = message_counts(backend)?;
    let import = format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: {}}}); ()"#,
        rhai_str(zip)
    );
    sides.push(timed(ctx, server, &import)?);
    let after = message_counts(backend)?;
    for (copy, (b, a)) in ["primary (sql01)", "backup (sql02)"].iter().zip(before.iter().zip(&after)) {
        if a - b != messages as i64 {
            return Err(format!("the import added {} messages to pc01's {copy}, expected {messages}", a - b));
        }
    }
    expect(ctx, "get_cs_persistent_chat_room().len()", rooms + CONTENT_ROOMS)?;
    labels.push((
        format!("import_cs_persistent_chat_data, {} messages", group_thousands(messages)),
        group_thousands(messages),
        messages,
    ));
    Ok((sides, labels))
}

/// A runbook creating `rooms` rooms in categories `<prefix><c>` of 100, each allowing one
/// department OU; the store then holds `total` rooms.
fn room_runbook(
    ctx: &mut Ctx,
    server: Option<&Server>,
    prefix: &str,
    rooms: usize,
    total: usize,
) -> Result<Side, String> {
    let ous: Vec<String> = REGIONS
        .iter()
        .flat_map(|r| DEPARTMENTS.iter().map(move |d| format!("\"OU={d},OU={r},DC=contoso,DC=com\"")))
        .collect();
    let runbook = ctx.dir.join(format!("pg-{prefix}-rooms.rhai"));
    let code = format!(
        r#"const OUS = [{ous}];
for c in 0..{categories} {{
    new_cs_persistent_chat_category(#{{Name: `{prefix}${{c}}`, PersistentChatPoolFqdn: "pc01.contoso.com"}});
    set_cs_persistent_chat_category(`pc01.contoso.com\{prefix}${{c}}`, #{{AllowedMembers: OUS[c % OUS.len()]}});
    for r in 0..{ROOMS_PER_CATEGORY} {{
        new_cs_persistent_chat_room(#{{Name: `{prefix}${{c}}-${{r}}`, PersistentChatPoolFqdn: "pc01.contoso.com", Category: `{prefix}${{c}}`}});
    }}
}}
"#,
        ous = ous.join(", "),
        categories = rooms / ROOMS_PER_CATEGORY,
    );
    fs::write(&runbook, code).map_err(|e| format!("cannot write {}: {e}", runbook.display()))?;
    let before = server.map(Server::backend_cpu).transpose()?;
    let (wall, _) = ctx.pchat_args(&["run".as_ref(), runbook.as_os_str()], STEP_TIMEOUT)?;
    let side = Side { wall, cpu: ctx.last_cpu, server_cpu: cpu_since(server, before)? };
    expect(ctx, "get_cs_persistent_chat_room().len()", total)?;
    Ok(side)
}

fn timed(ctx: &mut Ctx, server: Option<&Server>, code: &str) -> Result<Side, String> {
    let before = server.map(Server::backend_cpu).transpose()?;
    let (wall, _) = ctx.pchat(code, STEP_TIMEOUT)?;
    Ok(Side { wall, cpu: ctx.last_cpu, server_cpu: cpu_since(server, before)? })
}

fn cpu_since(server: Option<&Server>, before: Option<Option<Duration>>) -> Result<Option<Duration>, String> {
    match (server, before) {
        (Some(s), Some(Some(b))) => Ok(s.backend_cpu()?.map(|a| a.saturating_sub(b))),
        _ => Ok(None),
    }
}

fn expect(ctx: &mut Ctx, code: &str, n: usize) -> Result<(), String> {
    ctx.pchat_expect(code, &n.to_string(), STEP_TIMEOUT).map(|_| ())
}

/// Messages in pc01's primary (sql01) and backup (sql02) databases.
fn message_counts(backend: &Backend) -> Result<[i64; 2], String> {
    let count = |i: usize| -> Result<i64, String> {
        match backend {
            Backend::Sqlite(dir) => {
                let file = dir.join(format!("sql0{}.contoso.com-rtc.db", i + 1));
                rusqlite::Connection::open(&file)
                    .and_then(|c| c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)))
                    .map_err(|e| format!("counting messages in {}: {e}", file.display()))
            }
            Backend::Postgres(pools) => postgres::Client::connect(&pools[i], postgres::NoTls)
                .and_then(|mut c| c.query_one("SELECT count(*) FROM messages", &[]))
                .map(|r| r.get(0))
                .map_err(|e| format!("counting messages in the sql0{} database: {e}", i + 1)),
        }
    };
    Ok([count(0)?, count(1)?])
}

fn copy_store(ctx: &Ctx, from: &Path, central: &str, pools: &[String]) -> Result<(), String> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.arg("copy-store").arg("--from").arg(from).arg("--to").arg(central);
    for (instance, url) in INSTANCES.iter().zip(pools) {
        cmd.arg(format!("--pool={instance}={url}"));
    }
    let out = cmd.env_remove("PCHAT_DB").stdin(Stdio::null()).output().map_err(|e| format!("pchat copy-store: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pchat copy-store failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn side_table(measures: &[Measure]) -> String {
    let secs = |d: Duration| {
        if d < Duration::from_secs(1) {
            format!("{:.1} ms", d.as_secs_f64() * 1e3)
        } else {
            format!("{:.2} s", d.as_secs_f64())
        }
    };
    let cpu = |s: &Side| {
        let mut t = format!("{:.2} s", s.cpu.as_secs_f64());
        if let Some(server) = s.server_cpu {
            let _ = std::fmt::Write::write_fmt(&mut t, format_args!(" + server {:.2} s", server.as_secs_f64()));
        }
        t
    };
    let per = |s: &Side, items: usize| format!("{:.3} ms", s.wall.as_secs_f64() * 1e3 / items.max(1) as f64);
    let mut t = String::from(
        "| measurement | N | SQLite | PostgreSQL | PostgreSQL / SQLite | per item SQLite / PostgreSQL | CPU SQLite | CPU PostgreSQL (pchat + server) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for m in measures {
        let r = ratio(m.postgres.wall, m.sqlite.wall);
        t.push_str(&format!(
            "| {} | {} | {} | {} | {r:.1}x {} | {} / {} | {} | {} |\n",
            m.name.replace('|', "\\|"),
            m.n,
            secs(m.sqlite.wall),
            secs(m.postgres.wall),
            if r <= 3.0 { "(within 3x)" } else { "(MISSED 3x)" },
            per(&m.sqlite, m.items),
            per(&m.postgres, m.items),
            cpu(&m.sqlite),
            cpu(&m.postgres),
        ));
    }
    t
}

/// The PostgreSQL server the benchmark writes to, and the databases it made there.
struct Server {
    url: String,
    tag: String,
    made: std::cell::RefCell<Vec<String>>,
    /// A throwaway cluster: its folder and the `watch` process that stops it when we go.
    cluster: Option<(PathBuf, Child)>,
}

impl Server {
    fn start() -> Result<Server, String> {
        let tag = format!("pchat_bench_{}", std::process::id());
        if let Ok(url) = std::env::var("PCHAT_BENCH_PG_URL") {
            return Ok(Server { url, tag, made: Default::default(), cluster: None });
        }
        let out = Command::new(CLUSTER)
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {CLUSTER}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::to_string);
        let (Some(url), Some(dir)) = (value("PCHAT_PG_URL="), value("PCHAT_PG_DIR=")) else {
            return Err(format!(
                "{CLUSTER} start failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        };
        // The watcher stops the server once our end of its standard input closes, however we end.
        let watch = Command::new(CLUSTER)
            .arg("watch")
            .arg(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {CLUSTER} watch: {e}"))?;
        eprintln!("started a throwaway PostgreSQL server: {url} ({dir})");
        Ok(Server { url, tag, made: Default::default(), cluster: Some((PathBuf::from(dir), watch)) })
    }

    fn throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    /// The URL of a database of this run (copy-store creates it).
    fn database(&self, what: &str) -> String {
        let name = format!("{}_{what}", self.tag);
        self.made.borrow_mut().push(name.clone());
        url_of(&self.url, &name)
    }

    /// Turns on what the throwaway server runs without (each a reload-time setting).
    fn durable(&self) -> Result<(), String> {
        let mut c = postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| format!("{}: {e}", self.url))?;
        for s in ["fsync", "synchronous_commit", "full_page_writes"] {
            c.batch_execute(&format!("ALTER SYSTEM SET {s} = on")).map_err(|e| format!("ALTER SYSTEM SET {s}: {e}"))?;
        }
        c.batch_execute("SELECT pg_reload_conf()").map_err(|e| format!("pg_reload_conf: {e}"))?;
        // The reload reaches the backends asynchronously; a new session reads the new values.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| e.to_string())?;
            let on: String = c.query_one("SHOW fsync", &[]).map_err(|e| e.to_string())?.get(0);
            if on == "on" {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the server did not take fsync = on within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// CPU time (user + system) the server has used: its postmaster's reaped children (the
    /// backends of finished pchat runs) and its live processes (backends not reaped yet, the
    /// WAL writer, the checkpointer, …), from /proc. Reading only the reaped children's time
    /// missed the backends that were still exiting when a run ended. None when not known (a
    /// server of PCHAT_BENCH_PG_URL).
    fn backend_cpu(&self) -> Result<Option<Duration>, String> {
        let Some((dir, _)) = &self.cluster else { return Ok(None) };
        let pid_file = dir.join("data/postmaster.pid");
        let pid = fs::read_to_string(&pid_file).map_err(|e| format!("{}: {e}", pid_file.display()))?;
        let pid: u32 =
            pid.lines().next().unwrap_or("").trim().parse().map_err(|_| format!("{}: no pid", pid_file.display()))?;
        let Some(postmaster) = proc_stat(pid) else { return Err(format!("/proc/{pid}/stat: the server is gone")) };
        let mut ticks = postmaster.own + postmaster.children;
        let entries = fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if let Some(stat) = proc_stat(child).filter(|s| s.ppid == pid) {
                ticks += stat.own;
            }
        }
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Ok(Some(Duration::from_millis(ticks * 1000 / hz)))
    }

    /// Stops a throwaway server (closing the watcher's pipe); drops this run's databases on a
    /// given one.
    fn stop(mut self) -> Result<(), String> {
        match self.cluster.take() {
            Some((_, mut watch)) => {
                drop(watch.stdin.take());
                watch.wait().map_err(|e| format!("{CLUSTER} watch: {e}"))?;
                Ok(())
            }
            None => {
                let mut c = postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| e.to_string())?;
                for name in self.made.borrow().iter() {
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .map_err(|e| format!("DROP DATABASE {name}: {e}"))?;
                }
                Ok(())
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some((_, watch)) = &mut self.cluster {
            drop(watch.stdin.take());
            let _ = watch.wait();
        }
    }
}

/// What /proc/PID/stat says of a process's CPU time, in clock ticks.
struct ProcStat {
    ppid: u32,
    /// utime + stime.
    own: u64,
    /// cutime + cstime: its reaped children's.
    children: u64,
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's closing parenthesis, from the 3rd (state): ppid is the 4th,
    // utime, stime, cutime and cstime the 14th to 17th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |i: usize| fields.get(i - 3)?.parse::<u64>().ok();
    Some(ProcStat {
        ppid: u32::try_from(field(4)?).ok()?,
        own: field(14)? + field(15)?,
        children: field(16)? + field(17)?,
    })
}

/// The URL of the database `name` on the server of `url`.
fn url_of(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}
