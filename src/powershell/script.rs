//! Translating a script's statements: control flow becomes Rhai control flow, PowerShell's
//! output semantics (every statement's output goes to the pipeline) become `ps_out` at the top
//! level and an output array `ps_o` inside functions and blocks, and script functions become
//! closures declared before use, so they see the script's variables as PowerShell functions do.

use super::PsError;
use super::ast::*;
use super::translate::{Code, Frame, Kind, Sink, Translator, rhai_string};

/// A script function: its parameters and the Rhai variable holding its closure.
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub params: Vec<ParamDecl>,
    pub var: String,
}

/// Every variable a list of statements assigns, outside function bodies and script blocks.
pub fn assigned_variables(stmts: &[Stmt], out: &mut Vec<String>) {
    let add = |e: &Expr, out: &mut Vec<String>| {
        let mut e = e;
        while let Expr::Member(inner, _) | Expr::Index(inner, _) = e {
            e = inner;
        }
        if let Expr::Var(name, _) = e
            && !name.eq_ignore_ascii_case("null")
            && !out.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            out.push(name.clone());
        }
    };
    for s in stmts {
        match s {
            Stmt::Assign { target, value, .. } => {
                add(target, out);
                assigned_variables(std::slice::from_ref(value), out);
            }
            Stmt::Step { target, .. } => add(target, out),
            Stmt::If { clauses, otherwise } => {
                for (_, body) in clauses {
                    assigned_variables(body, out);
                }
                if let Some(b) = otherwise {
                    assigned_variables(b, out);
                }
            }
            Stmt::Foreach { body, .. } | Stmt::While { body, .. } | Stmt::Do { body, .. } => {
                assigned_variables(body, out)
            }
            Stmt::For { init, step, body, .. } => {
                for s in [init, step].into_iter().flatten() {
                    assigned_variables(std::slice::from_ref(s), out);
                }
                assigned_variables(body, out);
            }
            Stmt::Switch { clauses, default, .. } => {
                for (_, body) in clauses {
                    assigned_variables(body, out);
                }
                if let Some(b) = default {
                    assigned_variables(b, out);
                }
            }
            Stmt::Try { body, catch, finally } => {
                assigned_variables(body, out);
                for b in [catch, finally].into_iter().flatten() {
                    assigned_variables(b, out);
                }
            }
            _ => {}
        }
    }
}

impl Translator {
    pub fn new() -> Translator {
        Translator {
            frames: vec![Frame::default()],
            sinks: vec![Sink::Print],
            in_block: 0,
            cmdlets: Vec::new(),
            functions: Default::default(),
            unique: 0,
            catch_depth: 0,
            error_action: None,
        }
    }

    fn frame(&mut self) -> &mut Frame {
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    /// Declare a variable at the start of the current scope (once).
    pub fn hoist(&mut self, name: String) {
        let frame = self.frame();
        if frame.declared.insert(name.clone()) {
            frame.hoisted.push(name);
        }
    }

    /// Declare a variable so that it is visible here: in the current scope, unless it is
    /// already visible from the script's scope (a function setting `-OutVariable` of a script variable).
    pub fn hoist_outer(&mut self, name: String) {
        if self.frames.iter().any(|f| f.declared.contains(&name)) {
            return;
        }
        self.hoist(name);
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.unique += 1;
        format!("ps_{stem}{}", self.unique)
    }

    fn sink(&self) -> Sink {
        self.sinks.last().copied().unwrap_or(Sink::Print)
    }

    /// Every function of the script, wherever it is defined, so calls can be told from cmdlets.
    pub fn collect_functions(&mut self, stmts: &[Stmt]) -> Result<(), PsError> {
        for s in stmts {
            if let Stmt::Function { name, pos, params, body } = s {
                let lower = name.to_ascii_lowercase();
                if crate::catalog::all().iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
                    return Err(PsError::unsupported(format!("a function named like the cmdlet {name}"), *pos));
                }
                if self.functions.contains_key(&lower) {
                    return Err(PsError::syntax(format!("the function {name} is defined twice"), *pos));
                }
                let var = format!(
                    "fn_{}",
                    lower.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect::<String>()
                );
                self.functions.insert(lower, Function { name: name.clone(), params: params.clone(), var });
                self.collect_functions(body)?;
            }
        }
        for f in self.functions.values() {
            let var = f.var.clone();
            self.frames[0].declared.insert(var.clone());
            if !self.frames[0].hoisted.contains(&var) {
                self.frames[0].hoisted.push(var);
            }
        }
        Ok(())
    }

    pub fn top_statement(&mut self, s: &Stmt, last: bool) -> Result<String, PsError> {
        match s {
            // The script's last pipeline is its result, printed as `pchat -c` prints any result.
            Stmt::Pipeline(p) if last => Ok(self.pipeline(p)?.text),
            _ => self.statement(s),
        }
    }

    /// Statements as Rhai statements, output going to the current sink.
    pub fn statements(&mut self, stmts: &[Stmt]) -> Result<String, PsError> {
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts {
            out.push(format!("{}{}", super::lines::marker(s), self.statement(s)?));
        }
        Ok(out.join(" "))
    }

    /// Statements in a nested Rhai block (`if`, loops).
    fn block(&mut self, stmts: &[Stmt]) -> Result<String, PsError> {
        self.frame().depth += 1;
        let body = self.statements(stmts);
        self.frame().depth -= 1;
        Ok(format!("{{ {} }}", body?))
    }

    /// Statements as one Rhai expression whose value is their output: `ret` is `ps_o` (an array)
    /// or `ps_one(ps_o)` (PowerShell's one-object-is-that-object rule).
    pub fn collected(&mut self, stmts: &[Stmt], ret: &'static str) -> Result<String, PsError> {
        self.sinks.push(Sink::Collect { ret });
        let body = self.block(stmts);
        self.sinks.pop();
        let body = body?;
        Ok(format!("{{ let ps_o = []; {} {ret} }}", &body[1..body.len() - 1]))
    }

    fn emit(&self, code: Code) -> String {
        match self.sink() {
            Sink::Print => format!("ps_out({});", code.text),
            Sink::Collect { .. } => format!("ps_o.append({});", code.items()),
        }
    }

    fn condition(&mut self, p: &Pipeline) -> Result<String, PsError> {
        Ok(self.pipeline(p)?.truth())
    }

    pub fn statement(&mut self, s: &Stmt) -> Result<String, PsError> {
        Ok(match s {
            Stmt::Pipeline(p) => {
                let code = self.pipeline(p)?;
                self.emit(code)
            }
            // `$null = $list.Add(x)`: the value is computed and discarded, as `[void]` does.
            Stmt::Assign { target: Expr::Var(v, _), op: AssignOp::Set, value, .. }
                if v.eq_ignore_ascii_case("null") =>
            {
                format!("{};", self.value_of(value)?)
            }
            Stmt::Assign { target, pos, op, value } => {
                let rhs = self.value_of(value)?;
                let set = self.assign(target, *pos, *op, rhs)?;
                match target {
                    Expr::Var(v, pos) if v.eq_ignore_ascii_case("ErrorActionPreference") => {
                        // Applied to the Cs cmdlet calls that follow it in the script.
                        let Stmt::Pipeline(p) = value.as_ref() else {
                            return Err(PsError::unsupported("a computed $ErrorActionPreference", *pos));
                        };
                        match p.elements.as_slice() {
                            [Element::Expr(Expr::Str(a) | Expr::Bare(a))] => self.error_action = Some(a.clone()),
                            _ => return Err(PsError::unsupported("a computed $ErrorActionPreference", *pos)),
                        }
                        format!("{set};")
                    }
                    Expr::Var(v, _) if v.eq_ignore_ascii_case("VerbosePreference") => {
                        let name = self.expr(target)?.text;
                        format!("{set}; ps_set_verbose({name});")
                    }
                    _ => format!("{set};"),
                }
            }
            Stmt::Step { target, pos, delta } => {
                let op = if *delta > 0 { AssignOp::Add } else { AssignOp::Sub };
                format!("{};", self.assign(target, *pos, op, "1".into())?)
            }
            Stmt::If { clauses, otherwise } => {
                let mut parts = Vec::new();
                for (cond, body) in clauses {
                    let c = self.condition(cond)?;
                    parts.push(format!("if {c} {}", self.block(body)?));
                }
                let mut text = parts.join(" else ");
                if let Some(b) = otherwise {
                    text.push_str(&format!(" else {}", self.block(b)?));
                }
                format!("{text};")
            }
            Stmt::Foreach { var, pos, items, body } => {
                let name = self.variable_name(var, *pos)?;
                let items = self.pipeline(items)?.items();
                self.frame().declared.insert(name.clone());
                format!("for {name} in {items} {};", self.block(body)?)
            }
            Stmt::For { init, cond, step, body } => {
                let init = match init {
                    Some(s) => self.statement(s)?,
                    None => String::new(),
                };
                let cond = match cond {
                    Some(c) => self.condition(c)?,
                    None => "true".into(),
                };
                let step = match step {
                    Some(s) => self.statement(s)?,
                    None => String::new(),
                };
                // `continue` must still run the step: the step runs at the top of every later pass.
                let first = self.fresh("first");
                let body = self.block(body)?;
                format!(
                    "{init} let {first} = true; loop {{ if !{first} {{ {step} }} {first} = false; if !({cond}) {{ break; }} {body} }};"
                )
            }
            Stmt::While { cond, body } => {
                let c = self.condition(cond)?;
                format!("while {c} {};", self.block(body)?)
            }
            Stmt::Do { body, cond, until } => {
                let b = self.block(body)?;
                let c = self.condition(cond)?;
                format!("do {b} {} {c};", if *until { "until" } else { "while" })
            }
            Stmt::Switch { value, mode, clauses, default } => self.switch(value, *mode, clauses, default.as_deref())?,
            Stmt::Function { name, params, body, .. } => self.function(name, params, body)?,
            Stmt::Params(_, pos) => {
                return Err(PsError::syntax("param() must be the first statement of a script or a function", *pos));
            }
            Stmt::Try { body, catch, finally } => self.try_statement(body, catch.as_deref(), finally.as_deref())?,
            Stmt::Throw(value) => match value {
                Some(p) => format!("throw ps_str({});", self.pipeline(p)?.text),
                None if self.in_catch() => "throw ps_caught;".into(),
                None => "throw \"ScriptHalted\";".into(),
            },
            Stmt::Return(value) => {
                let emit = match value {
                    Some(p) => {
                        let code = self.pipeline(p)?;
                        self.emit(code)
                    }
                    None => String::new(),
                };
                match self.sink() {
                    Sink::Print => format!("{emit} return;"),
                    Sink::Collect { ret } => format!("{emit} return {ret};"),
                }
            }
            Stmt::Exit(value) => {
                let code = match value {
                    Some(p) => self.pipeline(p)?.text,
                    None => "0".into(),
                };
                format!("ps_exit({code}); exit();")
            }
            Stmt::Break => "break;".into(),
            Stmt::Continue => "continue;".into(),
        })
    }

    fn in_catch(&self) -> bool {
        self.catch_depth > 0
    }

    /// The value of the right side of `=`: a pipeline's output (one object is that object), or
    /// a statement's output.
    fn value_of(&mut self, value: &Stmt) -> Result<String, PsError> {
        match value {
            Stmt::Pipeline(p) => {
                let code = self.pipeline(p)?;
                let collects = p.elements.iter().any(|e| matches!(e, Element::Command(_)))
                    || matches!(p.elements.as_slice(), [Element::Expr(Expr::Paren(inner))]
                        if inner.elements.iter().any(|e| matches!(e, Element::Command(_))));
                Ok(if collects { format!("ps_one({})", code.items()) } else { code.text })
            }
            // `$a = $b = 0`: the inner assignment, then its target's value.
            Stmt::Assign { target, .. } => {
                let inner = self.statement(value)?;
                let read = self.expr(target)?.text;
                Ok(format!("{{ {inner} {read} }}"))
            }
            other => self.collected(std::slice::from_ref(other), "ps_one(ps_o)"),
        }
    }

    /// `target op= value` as a Rhai expression statement.
    fn assign(&mut self, target: &Expr, pos: Pos, op: AssignOp, value: String) -> Result<String, PsError> {
        let helper = match op {
            AssignOp::Set => None,
            AssignOp::Add => Some("ps_add"),
            AssignOp::Sub => Some("ps_sub"),
            AssignOp::Mul => Some("ps_mul"),
            AssignOp::Div => Some("ps_div"),
            AssignOp::Rem => Some("ps_rem"),
        };
        match target {
            Expr::Var(var, vpos) => {
                let (name, outer) = self.assignment_name(var, *vpos)?;
                if op == AssignOp::Add {
                    self.ensure_declared(&name, outer);
                    // In place, so a growing list is not copied at every `+=`.
                    return Ok(format!("{name}.ps_add_to({value})"));
                }
                if let Some(h) = helper {
                    self.ensure_declared(&name, outer);
                    return Ok(format!("{name} = {h}({name}, {value})"));
                }
                let in_block = self.in_block;
                let frame = self.frame();
                if !outer && frame.depth == 0 && in_block == 0 && !frame.declared.contains(&name) {
                    self.frame().declared.insert(name.clone());
                    return Ok(format!("let {name} = {value}"));
                }
                self.ensure_declared(&name, outer);
                Ok(format!("{name} = {value}"))
            }
            Expr::Member(inner, prop) => {
                let Expr::Var(var, vpos) = inner.as_ref() else {
                    return Err(PsError::unsupported("setting a nested property ($a.B.C = ...)", pos));
                };
                let name = self.variable(var, *vpos)?.text;
                let key = rhai_string(prop);
                Ok(match helper {
                    None => format!("{name}.ps_set({key}, {value})"),
                    Some(h) => format!("{name}.ps_set({key}, {h}(ps_prop({name}, {key}), {value}))"),
                })
            }
            Expr::Index(inner, index) => {
                let Expr::Var(var, vpos) = inner.as_ref() else {
                    return Err(PsError::unsupported("setting an element of a nested value ($a.B[0] = ...)", pos));
                };
                let name = self.variable(var, *vpos)?.text;
                let key = self.expr(index)?.text;
                Ok(match helper {
                    None => format!("{name}.ps_set_index({key}, {value})"),
                    Some(h) => {
                        let k = self.fresh("k");
                        format!("{{ let {k} = {key}; {name}.ps_set_index({k}, {h}(ps_index({name}, {k}), {value})) }}")
                    }
                })
            }
            _ => Err(PsError::unsupported("assigning to anything but a variable, a property or an index", pos)),
        }
    }

    /// The Rhai name an assignment sets, and whether it is the script's (`$script:x` in a function).
    fn assignment_name(&mut self, var: &str, pos: Pos) -> Result<(String, bool), PsError> {
        let lower = var.to_ascii_lowercase();
        for scope in ["script:", "global:"] {
            if let Some(rest) = lower.strip_prefix(scope) {
                let name = Self::rhai_variable(rest, pos)?;
                if self.frames.len() > 1 {
                    return Ok((name, true));
                }
                return Ok((name, false));
            }
        }
        let name = lower.strip_prefix("local:").unwrap_or(&lower);
        Ok((self.variable_name(name, pos)?, false))
    }

    fn ensure_declared(&mut self, name: &str, outer: bool) {
        if outer {
            if self.frames[0].declared.insert(name.to_string()) {
                self.frames[0].hoisted.push(name.to_string());
            }
        } else {
            self.hoist(name.to_string());
        }
    }

    fn switch(
        &mut self,
        value: &Pipeline,
        mode: SwitchMode,
        clauses: &[(Expr, Vec<Stmt>)],
        default: Option<&[Stmt]>,
    ) -> Result<String, PsError> {
        let items = self.pipeline(value)?.text;
        let matched = self.fresh("matched");
        self.in_block += 1;
        let mut parts = Vec::new();
        for (test, body) in clauses {
            let cond = match test {
                Expr::Block(b) => {
                    let code = self.item_block(b, false)?;
                    code.truth()
                }
                other => {
                    let v = self.expr(other)?.text;
                    match mode {
                        SwitchMode::Exact => format!("ps_true(ps_eq(it, {v}))"),
                        SwitchMode::Wildcard => format!("ps_true(ps_like(it, {v}))"),
                        SwitchMode::Regex => format!("ps_true(ps_match(it, {v}))"),
                    }
                }
            };
            let body = self.block(body)?;
            parts.push(format!("if {cond} {{ {matched} = true; {} }}", &body[1..body.len() - 1]));
        }
        if let Some(d) = default {
            parts.push(format!("if !{matched} {}", self.block(d)?));
        }
        self.in_block -= 1;
        Ok(format!("for it in ps_switch_items({items}) {{ let {matched} = false; {} }};", parts.join(" ")))
    }

    fn try_statement(
        &mut self,
        body: &[Stmt],
        catch: Option<&[Stmt]>,
        finally: Option<&[Stmt]>,
    ) -> Result<String, PsError> {
        let body = self.block(body)?;
        let guarded = match catch {
            Some(c) => {
                self.in_block += 1;
                self.catch_depth += 1;
                let handler = self.block(c);
                self.catch_depth -= 1;
                self.in_block -= 1;
                let handler = handler?;
                format!(
                    "try {body} catch (ps_caught) {{ let it = ps_error_record(ps_caught); {} }}",
                    &handler[1..handler.len() - 1]
                )
            }
            None => body,
        };
        Ok(match finally {
            None => format!("{guarded};"),
            Some(f) => {
                let pending = self.fresh("pending");
                let f = self.block(f)?;
                format!(
                    "let {pending} = (); try {{ {guarded} }} catch (ps_e) {{ {pending} = ps_e; }} {f}; if type_of({pending}) != \"()\" {{ throw {pending}; }}"
                )
            }
        })
    }

    /// `function Name { param(...) ... }`: a closure taking the parameters in declared order.
    fn function(&mut self, name: &str, params: &[ParamDecl], body: &[Stmt]) -> Result<String, PsError> {
        let Some(f) = self.functions.get(&name.to_ascii_lowercase()).cloned() else {
            return Err(PsError::syntax(format!("the function {name} is not known"), Pos::default()));
        };
        let mut frame = Frame::default();
        let mut names = Vec::new();
        let mut prologue = Vec::new();
        for p in params {
            let n = Self::rhai_variable(&p.name, p.pos)?;
            frame.declared.insert(n.clone());
            names.push(n.clone());
        }
        self.frames.push(frame);
        for (p, n) in params.iter().zip(&names) {
            prologue.push(self.param_prologue(p, n, &format!("{name}: "))?);
        }
        let saved_block = std::mem::replace(&mut self.in_block, 0);
        let body = self.collected(body, "ps_one(ps_o)");
        self.in_block = saved_block;
        let frame = self.frames.pop().unwrap_or_default();
        let body = body?;
        let locals: Vec<String> = frame.hoisted.iter().map(|v| format!("let {v};")).collect();
        Ok(format!(
            "{} = |{}| {{ {} {} {} }};",
            f.var,
            names.join(", "),
            prologue.join(" "),
            locals.join(" "),
            &body[1..body.len() - 1]
        ))
    }

    /// Defaults, type conversion and ValidateSet for one parameter, inside the function.
    fn param_prologue(&mut self, p: &ParamDecl, n: &str, context: &str) -> Result<String, PsError> {
        let mut out = String::new();
        let is_switch = p.ty.as_deref() == Some("switch");
        match &p.default {
            Some(d) => {
                let d = self.expr(d)?.text;
                out.push_str(&format!("if type_of({n}) == \"()\" {{ {n} = {d}; }} "));
            }
            None if is_switch => out.push_str(&format!("if type_of({n}) == \"()\" {{ {n} = false; }} ")),
            None => {}
        }
        if let Some(ty) = &p.ty {
            out.push_str(&format!(
                "{n} = ps_param_value({n}, {}, {}); ",
                rhai_string(ty),
                rhai_string(&format!("{context}-{}", p.name))
            ));
        }
        if !p.valid.is_empty() {
            let list: Vec<String> = p.valid.iter().map(|v| rhai_string(v)).collect();
            out.push_str(&format!(
                "ps_validate_set({n}, [{}], {}); ",
                list.join(", "),
                rhai_string(&format!("{context}-{}", p.name))
            ));
        }
        Ok(out)
    }

    /// A call of a script function: named and positional arguments bound to its parameters.
    pub fn call_function(&mut self, f: &Function, c: &Command, input: Option<Code>) -> Result<Code, PsError> {
        if input.is_some() {
            return Err(PsError::unsupported(
                format!("piping into the script function {} (pass the value as an argument)", f.name),
                c.pos,
            ));
        }
        let mut values: Vec<Option<String>> = vec![None; f.params.len()];
        let mut next_positional = 0;
        let mut args = c.args.iter().peekable();
        let valid = || f.params.iter().map(|p| format!("-{}", p.name)).collect::<Vec<_>>().join(", ");
        while let Some(arg) = args.next() {
            match arg {
                Arg::Param { name, pos, value } => {
                    let lower = name.to_ascii_lowercase();
                    let matches: Vec<usize> = f
                        .params
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.name.to_ascii_lowercase().starts_with(&lower))
                        .map(|(i, _)| i)
                        .collect();
                    let exact = f.params.iter().position(|p| p.name.eq_ignore_ascii_case(name));
                    let i = match (exact, matches.as_slice()) {
                        (Some(i), _) => i,
                        (None, [i]) => *i,
                        (None, []) => {
                            return Err(PsError::command(
                                format!("{}: no parameter -{name}; its parameters are {}", f.name, valid()),
                                *pos,
                            ));
                        }
                        (None, _) => {
                            return Err(PsError::command(format!("{}: parameter -{name} is ambiguous", f.name), *pos));
                        }
                    };
                    let is_switch = f.params[i].ty.as_deref() == Some("switch");
                    let v = match value {
                        Some(v) => self.expr(v)?.text,
                        None if is_switch => "true".into(),
                        None => match args.next() {
                            Some(Arg::Value(v, _)) => self.expr(v)?.text,
                            _ => {
                                return Err(PsError::command(
                                    format!("{}: parameter -{} needs a value", f.name, f.params[i].name),
                                    *pos,
                                ));
                            }
                        },
                    };
                    if values[i].is_some() {
                        return Err(PsError::command(
                            format!("{}: parameter -{} is given more than once", f.name, f.params[i].name),
                            *pos,
                        ));
                    }
                    values[i] = Some(v);
                }
                Arg::Value(v, vpos) => {
                    while next_positional < f.params.len()
                        && (values[next_positional].is_some()
                            || f.params[next_positional].ty.as_deref() == Some("switch"))
                    {
                        next_positional += 1;
                    }
                    if next_positional >= f.params.len() {
                        return Err(PsError::command(
                            format!("{}: too many arguments (its parameters are {})", f.name, valid()),
                            *vpos,
                        ));
                    }
                    values[next_positional] = Some(self.expr(v)?.text);
                }
            }
        }
        for (p, v) in f.params.iter().zip(&values) {
            if p.mandatory && v.is_none() {
                return Err(PsError::command(
                    format!("{}: the mandatory parameter -{} is missing", f.name, p.name),
                    c.pos,
                ));
            }
        }
        let list: Vec<String> = values.into_iter().map(|v| v.unwrap_or_else(|| "()".into())).collect();
        Ok(Code::new(format!("{}.call({})", f.var, list.join(", ")), Kind::Value))
    }

    /// A `.ps1` runbook's top-level `param()`: each parameter from `--arg` (ARGS), converted to
    /// its type, defaulted or reported missing.
    pub fn script_params(&mut self, decls: &[ParamDecl]) -> Result<String, PsError> {
        let mut out = Vec::new();
        for p in decls {
            let n = Self::rhai_variable(&p.name, p.pos)?;
            self.frames[0].declared.insert(n.clone());
            out.push(format!("let {n} = ps_script_arg(ARGS, {});", rhai_string(&p.name)));
            out.push(self.param_prologue(p, &n, "")?);
        }
        Ok(out.join(" "))
    }
}
