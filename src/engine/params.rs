//! Declared runbook parameters: the `param()` of a runbook.
//!
//! A `.rhai` runbook declares them in a top-level literal constant, read without running the script:
//!
//! ```rhai
//! const PARAMS = #{
//!     Days: #{ type: "int", default: 365, help: "delete content older than this many days" },
//!     File: #{ type: "string", mandatory: true, help: "the CSV file to read" },
//! };
//! ```
//!
//! Types: `string`, `int`, `float`, `bool`, `date`, `string[]` (comma-separated). `--arg` names match
//! declared names case-insensitively (never by prefix: a runbook that later gains a parameter must
//! not change the meaning of an existing command line). The bound values are the map `ARGS`, keyed
//! by declared spelling and converted to type; an optional parameter without a default is absent.
//! A runbook that declares nothing accepts no `--arg`.
//!
//! Other front ends (a `.ps1` runbook's `param()` block) build a [`Params`] with [`Params::new`] and
//! [`Param`] values and then use the same [`Params::bind`] and [`Params::usage`].

use rhai::{Dynamic, Engine, Map};

/// The name of the constant a `.rhai` runbook declares its parameters in.
pub const CONSTANT: &str = "PARAMS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Float,
    Bool,
    Date,
    StringList,
}

impl ParamType {
    pub const ALL: [ParamType; 6] =
        [ParamType::String, ParamType::Int, ParamType::Float, ParamType::Bool, ParamType::Date, ParamType::StringList];

    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::Date => "date",
            ParamType::StringList => "string[]",
        }
    }

    /// Case-insensitive; PowerShell's spellings (`[int]`, `[switch]`, `[datetime]`, `[string[]]`)
    /// are accepted so a `param()` block maps onto the same types.
    pub fn parse(text: &str) -> Option<ParamType> {
        let t = text.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        Some(match t.as_str() {
            "string" => ParamType::String,
            "int" | "int32" | "int64" | "long" => ParamType::Int,
            "float" | "double" | "decimal" => ParamType::Float,
            "bool" | "boolean" | "switch" => ParamType::Bool,
            "date" | "datetime" => ParamType::Date,
            "string[" | "string[]" => ParamType::StringList,
            _ => return None,
        })
    }

    /// Convert one command-line value. The error says what would be valid.
    pub fn convert(self, text: &str) -> Result<Dynamic, String> {
        let t = text.trim();
        match self {
            ParamType::String => Ok(Dynamic::from(text.to_string())),
            ParamType::Int => {
                t.parse::<i64>().map(Dynamic::from).map_err(|_| format!("'{text}' is not a whole number"))
            }
            ParamType::Float => match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Dynamic::from(f)),
                _ => Err(format!("'{text}' is not a number")),
            },
            ParamType::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "$true" => Ok(Dynamic::from(true)),
                "false" | "no" | "0" | "$false" => Ok(Dynamic::from(false)),
                _ => Err(format!("'{text}' is not true or false")),
            },
            ParamType::Date => {
                let d = crate::values::time::parse_datetime(t)?;
                Ok(Dynamic::from(if d.date_only {
                    d.at.format("%Y-%m-%d").to_string()
                } else {
                    crate::values::time::format_datetime(d.at)
                }))
            }
            ParamType::StringList => Ok(Dynamic::from_array(
                t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Dynamic::from(s.to_string())).collect(),
            )),
        }
    }

    /// Check (and normalise) a declared default, which may be written typed (`365`) or as text.
    fn convert_default(self, value: &Dynamic) -> Result<Dynamic, String> {
        match self {
            ParamType::Int if value.is_int() => Ok(value.clone()),
            ParamType::Float if value.is_float() => Ok(value.clone()),
            ParamType::Float if value.is_int() => Ok(Dynamic::from(value.as_int().unwrap_or_default() as f64)),
            ParamType::Bool if value.is_bool() => Ok(value.clone()),
            ParamType::StringList if value.is_array() => {
                let items = value.clone().into_array().unwrap_or_default();
                if items.iter().all(|v| v.is_string()) {
                    Ok(Dynamic::from_array(items))
                } else {
                    Err("a string[] default must be an array of strings".into())
                }
            }
            _ if value.is_string() => self.convert(&value.to_string()),
            _ => Err(format!("the default {value} is not a {}", self.name())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    /// The declared spelling: the key of `ARGS`.
    pub name: String,
    pub ty: ParamType,
    /// Already converted to `ty`.
    pub default: Option<Dynamic>,
    pub mandatory: bool,
    pub help: String,
    /// For `--help` only: a default the script itself computes when it starts (a `.ps1`
    /// `param()` default), as it shows. `default` is then `None`: the command line binds nothing.
    pub shown_default: Option<String>,
}

/// The declared parameters of one runbook, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// Checks what any front end must hold: distinct names (ignoring case), and no default on a
    /// mandatory parameter (it would never be used).
    pub fn new(params: Vec<Param>) -> Result<Params, String> {
        for (i, p) in params.iter().enumerate() {
            if p.name.is_empty() || !p.name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!("parameter name '{}' must be letters, digits and _", p.name));
            }
            if params[..i].iter().any(|q| q.name.eq_ignore_ascii_case(&p.name)) {
                return Err(format!("parameter '{}' is declared twice", p.name));
            }
            if p.mandatory && p.default.is_some() {
                return Err(format!("parameter '{}' is mandatory and has a default; keep one", p.name));
            }
        }
        Ok(Params(params))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// Read the `PARAMS` constant of a `.rhai` runbook without running it. `Ok(None)`: the
    /// runbook declares no parameters.
    pub fn from_rhai(code: &str) -> Result<Option<Params>, String> {
        let mut engine = Engine::new_raw();
        allow_default_key(&mut engine);
        // A script that does not compile fails here, before the store is opened, as its run would.
        let ast = engine.compile(code).map_err(|e| super::describe_error(&e.into()))?;
        let Some((_, _, value)) = ast.iter_literal_variables(true, false).find(|(name, ..)| *name == CONSTANT) else {
            if declares_params(code) {
                return Err(format!(
                    "{CONSTANT} must be a top-level constant written as a literal map (no variables or function calls)"
                ));
            }
            return Ok(None);
        };
        let map = value.try_cast::<Map>().ok_or_else(|| format!("{CONSTANT} must be a map of parameter names"))?;
        let mut params = Params::from_map(&map)?;
        // A Rhai map is sorted by key; list the parameters in the order the runbook wrote them.
        let text = code.find(CONSTANT).map_or(code, |i| &code[i..]);
        params.0.sort_by_key(|p| key_position(text, &p.name));
        Ok(Some(params))
    }

    /// `#{ Name: #{ type, default, mandatory, help } }`.
    pub fn from_map(map: &Map) -> Result<Params, String> {
        const KEYS: [&str; 4] = ["type", "default", "mandatory", "help"];
        let mut params = Vec::new();
        for (name, spec) in map {
            let spec = spec.clone().try_cast::<Map>().ok_or_else(|| {
                format!(
                    "parameter '{name}': expected #{{ type: \"...\", default: ..., mandatory: ..., help: \"...\" }}"
                )
            })?;
            for key in spec.keys() {
                if !KEYS.contains(&key.as_str()) {
                    let hint = crate::binder::suggest(key, KEYS.into_iter())
                        .map(|k| format!("; did you mean '{k}'?"))
                        .unwrap_or_else(|| format!("; valid keys are {}", KEYS.join(", ")));
                    return Err(format!("parameter '{name}': unknown key '{key}'{hint}"));
                }
            }
            let type_names = || ParamType::ALL.map(ParamType::name).join(", ");
            let ty = match spec.get("type") {
                None => ParamType::String,
                Some(t) => ParamType::parse(&t.to_string()).ok_or_else(|| {
                    format!("parameter '{name}': unknown type '{t}'; valid types are {}", type_names())
                })?,
            };
            let default = match spec.get("default") {
                None => None,
                Some(v) if v.is_unit() => None,
                Some(v) => Some(ty.convert_default(v).map_err(|e| format!("parameter '{name}': {e}"))?),
            };
            let mandatory = match spec.get("mandatory") {
                None => false,
                Some(v) => v.as_bool().map_err(|_| format!("parameter '{name}': mandatory must be true or false"))?,
            };
            let help = spec.get("help").map(|h| h.to_string()).unwrap_or_default();
            params.push(Param { name: name.to_string(), ty, default, mandatory, help, shown_default: None });
        }
        Params::new(params)
    }

    /// Bind `--arg NAME=VALUE` pairs: the map `ARGS`. Every problem is reported at once, so one
    /// attempt shows all that is wrong with a command line.
    pub fn bind(&self, given: &[(String, String)]) -> Result<Map, String> {
        let mut problems = Vec::new();
        let mut args = Map::new();
        for (key, text) in given {
            let Some(p) = self.0.iter().find(|p| p.name.eq_ignore_ascii_case(key)) else {
                let hint = match crate::binder::suggest(key, self.0.iter().map(|p| p.name.as_str())) {
                    Some(n) => format!("; did you mean '{n}'?"),
                    None if self.0.is_empty() => "; this runbook declares no parameters".into(),
                    None => format!("; its parameters are {}", self.names()),
                };
                problems.push(format!("--arg {key}: the runbook has no parameter '{key}'{hint}"));
                continue;
            };
            if args.contains_key(p.name.as_str()) {
                problems.push(format!("--arg {key}: parameter '{}' is given twice", p.name));
                continue;
            }
            match p.ty.convert(text) {
                // As PowerShell: a mandatory parameter takes no empty string (or list). `--arg
                // Room=$ROOM` with an unset shell variable must not reach `-Filter $Room` as "".
                Ok(v) if p.mandatory && (text.is_empty() || v.as_array_ref().is_ok_and(|a| a.is_empty())) => {
                    problems.push(format!(
                        "--arg {key}: parameter '{}' is mandatory and the value is empty; give a {} value",
                        p.name,
                        p.ty.name()
                    ));
                }
                Ok(v) => {
                    args.insert(p.name.as_str().into(), v);
                }
                Err(e) => problems.push(format!("--arg {key}: {e} (parameter '{}' is {})", p.name, p.ty.name())),
            }
        }
        for p in &self.0 {
            // Given but refused above: already reported.
            if args.contains_key(p.name.as_str()) || given.iter().any(|(k, _)| p.name.eq_ignore_ascii_case(k)) {
                continue;
            }
            if p.mandatory {
                // A parameter declared without help text (a bare `.ps1` param) has nothing after the name.
                let help = match p.help.trim() {
                    "" => String::new(),
                    help => format!(": {}", crate::values::text::escape_line(help)),
                };
                problems.push(format!(
                    "missing --arg {}=<{}>{help}",
                    crate::values::text::escape_line(&p.name),
                    p.ty.name()
                ));
            } else if let Some(d) = &p.default {
                args.insert(p.name.as_str().into(), d.clone());
            }
        }
        if problems.is_empty() { Ok(args) } else { Err(problems.join("\n")) }
    }

    fn names(&self) -> String {
        self.0.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The text of `pchat run FILE --help`.
    pub fn usage(&self, file: &str) -> String {
        let mut out = format!("Usage: pchat run {file}");
        for p in &self.0 {
            let one = format!("--arg {}=<{}>", crate::values::text::escape_line(&p.name), p.ty.name());
            out.push(' ');
            out.push_str(&if p.mandatory { one } else { format!("[{one}]") });
        }
        out.push('\n');
        if self.0.is_empty() {
            out.push_str("\nThis runbook declares no parameters (it accepts no --arg).\n");
            return out;
        }
        out.push_str("\nParameters:\n");
        // Names, defaults and help come from the runbook: written out on one line each, so a
        // control character in them can neither break the table nor drive the terminal.
        use crate::values::text::escape_line;
        let names: Vec<String> = self.0.iter().map(|p| escape_line(&p.name).into_owned()).collect();
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let details: Vec<String> = self
            .0
            .iter()
            .map(|p| match p.shown() {
                _ if p.mandatory => "mandatory".to_string(),
                Some(d) if !d.is_empty() => format!("default {}", escape_line(&d)),
                _ => "optional".to_string(),
            })
            .collect();
        // Wide enough for the longest (a .ps1 default may be an expression), so help texts align.
        let detail_width = details.iter().map(|d| d.chars().count()).max().unwrap_or(0).max(16);
        for ((p, name), detail) in self.0.iter().zip(&names).zip(&details) {
            let help = escape_line(&p.help);
            let line = format!("  {name:width$}  {:8}  {detail:detail_width$}  {help}", p.ty.name());
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The parameters as data (`pchat --json run FILE --help`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.0
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "Name": p.name,
                        "Type": p.ty.name(),
                        "Mandatory": p.mandatory,
                        "Default": p.shown(),
                        "Help": p.help,
                    })
                })
                .collect(),
        )
    }
}

impl Param {
    /// The default as `--help` shows it.
    fn shown(&self) -> Option<String> {
        self.default.as_ref().map(show).or_else(|| self.shown_default.clone())
    }
}

fn show(v: &Dynamic) -> String {
    match v.clone().into_array() {
        Ok(items) => items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
        Err(_) => v.to_string(),
    }
}

/// `default` is a reserved word of Rhai; let a declaration write `default: 365` as a map key (and
/// nothing else changes: a reserved word has no other use).
pub fn allow_default_key(engine: &mut Engine) {
    use rhai::Token;
    #[allow(deprecated)] // flagged as a volatile API, not a deprecated one
    engine.on_parse_token(|token, _, _| match token {
        Token::Reserved(s) if s.as_str() == "default" => Token::Identifier(s),
        other => other,
    });
}

/// Where `name:` (or `"name":`) first appears as a map key in `text`.
fn key_position(text: &str, name: &str) -> usize {
    text.match_indices(name)
        .find(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + name.len()..].trim_start_matches('"').trim_start();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with(':')
        })
        .map_or(usize::MAX, |(i, _)| i)
}

/// A `const PARAMS` that is not a literal (so `iter_literal_variables` skips it) must not be
/// taken for "no parameters": the runbook would then silently accept none.
fn declares_params(code: &str) -> bool {
    regex::Regex::new(r"\bconst\s+PARAMS\s*=").is_ok_and(|re| re.is_match(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNBOOK: &str = r#"
        import "common" as c;
        const PARAMS = #{
            Days: #{ type: "int", default: 365, help: "older than this many days" },
            File: #{ type: "string", mandatory: true, help: "the CSV file" },
            Since: #{ type: "date", help: "first day" },
            Pools: #{ type: "string[]", default: "pc01,pc02" },
            Ratio: #{ type: "float", default: 1 },
            Force: #{ type: "bool", default: false },
        };
        print(ARGS.Days);
    "#;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn declared_parameters_are_read_without_running_the_script() {
        let params = Params::from_rhai(RUNBOOK).unwrap().unwrap();
        let names: Vec<_> = params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Days", "File", "Since", "Pools", "Ratio", "Force"]);
        assert!(Params::from_rhai("print(1);").unwrap().is_none());
        assert!(Params::from_rhai("fn f() { const PARAMS = #{}; }").unwrap_err().contains("top-level"));
        assert!(Params::from_rhai("let x = ;").unwrap_err().contains("syntax error"));
    }

    #[test]
    fn names_match_case_insensitively_and_values_take_their_type() {
        let params = Params::from_rhai(RUNBOOK).unwrap().unwrap();
        let args = params.bind(&pairs(&[("days", "730"), ("FILE", "x.csv"), ("since", "3/1/2018")])).unwrap();
        assert_eq!(args["Days"].as_int().unwrap(), 730);
        assert_eq!(args["File"].to_string(), "x.csv");
        assert_eq!(args["Since"].to_string(), "2018-03-01");
        assert_eq!(args["Pools"].clone().into_array().unwrap().len(), 2);
        assert_eq!(args["Ratio"].as_float().unwrap(), 1.0);
        assert!(!args["Force"].as_bool().unwrap());
        let args = params.bind(&pairs(&[("File", "x")])).unwrap();
        assert_eq!(args["Days"].as_int().unwrap(), 365);
        assert!(!args.contains_key("Since"), "an optional parameter without default is absent");
    }

    #[test]
    fn a_mandatory_parameter_refuses_an_empty_value_once() {
        let params = Params::from_rhai(RUNBOOK).unwrap().unwrap();
        let e = params.bind(&pairs(&[("File", "")])).unwrap_err();
        assert_eq!(e, "--arg File: parameter 'File' is mandatory and the value is empty; give a string value");
        // Spaces are a value (as in PowerShell); an optional parameter may be empty.
        assert_eq!(params.bind(&pairs(&[("File", " "), ("Pools", "")])).unwrap()["File"].to_string(), " ");
        let list = Params::from_rhai(r#"const PARAMS = #{ Pools: #{ type: "string[]", mandatory: true } };"#)
            .unwrap()
            .unwrap();
        assert!(
            list.bind(&pairs(&[("Pools", " , ")])).unwrap_err().contains("'Pools' is mandatory and the value is empty")
        );
    }

    #[test]
    fn unknown_missing_and_mistyped_arguments_are_all_reported() {
        let params = Params::from_rhai(RUNBOOK).unwrap().unwrap();
        let e = params.bind(&pairs(&[("Dys", "x"), ("Days", "ten"), ("Da", "1")])).unwrap_err();
        assert!(e.contains("no parameter 'Dys'; did you mean 'Days'?"), "{e}");
        assert!(e.contains("'ten' is not a whole number"), "{e}");
        assert!(e.contains("no parameter 'Da'"), "prefixes are not names: {e}");
        assert!(e.contains("missing --arg File=<string>"), "{e}");
        let none = Params::default();
        assert!(none.bind(&pairs(&[("x", "1")])).unwrap_err().contains("declares no parameters"));
    }

    #[test]
    fn bad_declarations_are_refused() {
        for (code, want) in [
            (r#"const PARAMS = #{ A: #{ type: "integer" } };"#, "unknown type 'integer'"),
            (r#"const PARAMS = #{ A: #{ typ: "int" } };"#, "did you mean 'type'?"),
            (r#"const PARAMS = #{ A: #{ type: "int", default: "x" } };"#, "not a whole number"),
            (r#"const PARAMS = #{ A: #{ mandatory: true, default: "x" } };"#, "mandatory and has a default"),
            (r#"const PARAMS = #{ A: 1 };"#, "expected #{"),
            (r#"let d = 1; const PARAMS = #{ A: #{ default: d } };"#, "literal map"),
        ] {
            let e = Params::from_rhai(code).unwrap_err();
            assert!(e.contains(want), "{code}: {e}");
        }
    }

    #[test]
    fn usage_lists_every_parameter() {
        let params = Params::from_rhai(RUNBOOK).unwrap().unwrap();
        let u = params.usage("r.rhai");
        assert!(
            u.contains("--arg File=<string> [--arg Days=<int>]") || u.contains("[--arg Days=<int>] --arg File"),
            "{u}"
        );
        assert!(u.contains("default 365") && u.contains("mandatory") && u.contains("default pc01,pc02"), "{u}");
    }

    /// A default only the script computes (a .ps1 expression) is shown, not bound; help texts
    /// stay aligned past a long default, and no line ends in blanks.
    #[test]
    fn a_shown_default_is_listed_but_not_bound() {
        let param = |name: &str, shown: Option<&str>, help: &str| Param {
            name: name.into(),
            ty: ParamType::String,
            default: None,
            mandatory: false,
            help: help.into(),
            shown_default: shown.map(str::to_string),
        };
        let params = Params::new(vec![
            param("Since", Some("(Get-Date).AddDays(-30)"), "first day"),
            param("Pool", None, "the pool"),
            param("Quiet", None, ""),
        ])
        .unwrap();
        let u = params.usage("r.ps1");
        let lines: Vec<&str> = u.lines().filter(|l| l.starts_with("  ")).collect();
        assert_eq!(lines[0], "  Since  string    default (Get-Date).AddDays(-30)  first day");
        assert_eq!(lines[1], "  Pool   string    optional                         the pool");
        assert_eq!(lines[2], "  Quiet  string    optional");
        assert_eq!(params.to_json()[0]["Default"], "(Get-Date).AddDays(-30)");
        assert!(!params.bind(&[]).unwrap().contains_key("Since"), "the script computes it, not the command line");
    }
}
