//! The log of one Test-CsPersistentChatMessage run: the steps it took, as the object
//! `-OutLoggerVariable` receives, as verbose text, and rendered by `ToHTML()` / `ToXML()`.

use chrono::Utc;
use rhai::{Array, Dynamic, Map};

use crate::objects::text;

/// The steps of one run, for `-OutLoggerVariable`, `-OutVerboseVariable` and `Verbose: true`.
#[derive(Default)]
pub(super) struct Log {
    entries: Vec<(String, &'static str, &'static str, String)>,
}

impl Log {
    pub(super) fn add(&mut self, step: &'static str, outcome: &'static str, message: impl Into<String>) {
        self.entries.push((Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), step, outcome, message.into()));
    }

    pub(super) fn info(&mut self, step: &'static str, message: impl Into<String>) {
        self.add(step, "Info", message);
    }

    pub(super) fn verbose_text(&self) -> String {
        self.entries
            .iter()
            .map(|(t, step, outcome, m)| format!("{t} {step} [{outcome}]: {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The log object: the TaskOutput's fields plus every step (see `log_html` / `log_xml`).
    pub(super) fn object(&self, output: &Map) -> Dynamic {
        let entries: Array = self
            .entries
            .iter()
            .map(|(t, step, outcome, m)| {
                let e: Map = [
                    ("Time".into(), text(t.clone())),
                    ("Step".into(), text(*step)),
                    ("Outcome".into(), text(*outcome)),
                    ("Message".into(), text(m.clone())),
                ]
                .into_iter()
                .collect();
                Dynamic::from_map(e)
            })
            .collect();
        let mut log = output.clone();
        log.insert("Entries".into(), Dynamic::from_array(entries));
        Dynamic::from_map(log)
    }
}

/// `log.ToHTML()`: the log of `-OutLoggerVariable` as an HTML page.
pub fn log_html(log: &Map) -> Result<String, String> {
    let entries = log_entries(log)?;
    let field = |k: &str| log.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string()).unwrap_or_default();
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Test-CsPersistentChatMessage</title></head><body>\n",
    );
    out.push_str(&format!(
        "<h1>Test-CsPersistentChatMessage {}</h1>\n<p>Result: <b>{}</b>; Latency: {}</p>\n",
        escape(&field("TargetFqdn")),
        escape(&field("Result")),
        escape(&field("Latency"))
    ));
    for k in ["Error", "Diagnosis"] {
        let v = field(k);
        if !v.is_empty() {
            out.push_str(&format!("<p>{k}: {}</p>\n", escape(&v)));
        }
    }
    out.push_str("<table border=\"1\">\n<tr><th>Time</th><th>Step</th><th>Outcome</th><th>Message</th></tr>\n");
    for e in entries {
        out.push_str("<tr>");
        for k in ["Time", "Step", "Outcome", "Message"] {
            out.push_str(&format!("<td>{}</td>", escape(&e[k])));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    Ok(out)
}

/// `log.ToXML()`: the log of `-OutLoggerVariable` as XML.
pub fn log_xml(log: &Map) -> Result<String, String> {
    let entries = log_entries(log)?;
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<TestLog Cmdlet=\"Test-CsPersistentChatMessage\"");
    for k in ["TargetFqdn", "Result", "Latency"] {
        if let Some(v) = log.get(k).filter(|v| !v.is_unit()) {
            out.push_str(&format!(" {k}=\"{}\"", escape(&v.to_string())));
        }
    }
    out.push_str(">\n");
    for k in ["Error", "Diagnosis"] {
        if let Some(v) = log.get(k).filter(|v| !v.is_unit()) {
            out.push_str(&format!("  <{k}>{}</{k}>\n", escape(&v.to_string())));
        }
    }
    for e in entries {
        out.push_str(&format!(
            "  <Entry Time=\"{}\" Step=\"{}\" Outcome=\"{}\">{}</Entry>\n",
            escape(&e["Time"]),
            escape(&e["Step"]),
            escape(&e["Outcome"]),
            escape(&e["Message"])
        ));
    }
    out.push_str("</TestLog>\n");
    Ok(out)
}

fn log_entries(log: &Map) -> Result<Vec<std::collections::HashMap<&'static str, String>>, String> {
    let entries = log
        .get("Entries")
        .and_then(|e| e.read_lock::<Array>().map(|a| (*a).clone()))
        .ok_or("not a test log (the value of Test-CsPersistentChatMessage -OutLoggerVariable)")?;
    Ok(entries
        .iter()
        .map(|e| {
            let m = e.read_lock::<Map>().map(|m| (*m).clone()).unwrap_or_default();
            ["Time", "Step", "Outcome", "Message"]
                .into_iter()
                .map(|k| (k, m.get(k).map(|v| v.to_string()).unwrap_or_default()))
                .collect()
        })
        .collect())
}

/// Text for HTML and XML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Map {
        let mut log = Log::default();
        log.add("Users", "Success", "sender <a> & receiver \"b\"");
        let mut out = Map::new();
        out.insert("TargetFqdn".into(), text("pc01.contoso.com"));
        out.insert("Result".into(), text("Failure"));
        out.insert("Latency".into(), Dynamic::UNIT);
        out.insert("Error".into(), text("x < y"));
        out.insert("Diagnosis".into(), Dynamic::UNIT);
        log.object(&out).cast::<Map>()
    }

    #[test]
    fn the_log_renders_as_escaped_html_and_xml() {
        let log = sample();
        let html = log_html(&log).unwrap();
        assert!(html.contains("<td>sender &lt;a&gt; &amp; receiver &quot;b&quot;</td>"), "{html}");
        assert!(html.contains("<p>Error: x &lt; y</p>") && !html.contains("Diagnosis"), "{html}");
        let xml = log_xml(&log).unwrap();
        assert!(
            xml.contains(
                "<TestLog Cmdlet=\"Test-CsPersistentChatMessage\" TargetFqdn=\"pc01.contoso.com\" Result=\"Failure\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("Step=\"Users\" Outcome=\"Success\">sender &lt;a&gt; &amp; receiver &quot;b&quot;</Entry>"),
            "{xml}"
        );
        assert!(log_html(&Map::new()).unwrap_err().starts_with("not a test log"));
    }
}
