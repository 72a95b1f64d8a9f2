//! The syntax tree of pchat's PowerShell subset: statements, pipelines, commands and expressions.

/// A 1-based line and character column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub enum Stmt {
    Pipeline(Pipeline),
    /// `$var = ...`, `$var.Prop += ...`, `$h[$k] = ...`: the target is a variable, a member or an
    /// index of one; the value may itself be a statement (`$x = foreach (...) { ... }`).
    Assign {
        target: Expr,
        pos: Pos,
        op: AssignOp,
        value: Box<Stmt>,
    },
    /// `$i++`, `$i--`, `++$i`, `--$i` as a statement.
    Step {
        target: Expr,
        pos: Pos,
        delta: i64,
    },
    If {
        clauses: Vec<(Pipeline, Vec<Stmt>)>,
        otherwise: Option<Vec<Stmt>>,
    },
    Foreach {
        var: String,
        pos: Pos,
        items: Pipeline,
        body: Vec<Stmt>,
    },
    For {
        init: Option<Box<Stmt>>,
        cond: Option<Pipeline>,
        step: Option<Box<Stmt>>,
        body: Vec<Stmt>,
    },
    While {
        cond: Pipeline,
        body: Vec<Stmt>,
    },
    /// `do { } while (...)` (`until` false) or `do { } until (...)`.
    Do {
        body: Vec<Stmt>,
        cond: Pipeline,
        until: bool,
    },
    Switch {
        value: Pipeline,
        mode: SwitchMode,
        clauses: Vec<(Expr, Vec<Stmt>)>,
        default: Option<Vec<Stmt>>,
    },
    Function {
        name: String,
        pos: Pos,
        params: Vec<ParamDecl>,
        body: Vec<Stmt>,
    },
    /// A `param( ... )` block: first in a script or a function body.
    Params(Vec<ParamDecl>, Pos),
    Try {
        body: Vec<Stmt>,
        catch: Option<Vec<Stmt>>,
        finally: Option<Vec<Stmt>>,
    },
    Throw(Option<Pipeline>),
    Return(Option<Pipeline>),
    Exit(Option<Pipeline>),
    Break,
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchMode {
    Exact,
    Wildcard,
    Regex,
}

/// One parameter of a `param()` block or of `function F($a, $b)`.
#[derive(Debug, Clone)]
pub struct ParamDecl {
    pub name: String,
    pub pos: Pos,
    /// The declared type in lower case (`string`, `int`, `switch`, `string[]`...), when given.
    pub ty: Option<String>,
    pub mandatory: bool,
    pub default: Option<Expr>,
    /// The default as written (for `--help`: it is computed only when the script starts).
    pub default_text: Option<String>,
    /// `[ValidateSet(...)]`: the values allowed.
    pub valid: Vec<String>,
    /// `[Parameter(HelpMessage = "...")]`.
    pub help_message: Option<String>,
    /// The comments that describe the parameter in the `param()` block: those before it (and
    /// among its attributes), and one on the line where it ends.
    pub comments: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub elements: Vec<Element>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub enum Element {
    Command(Command),
    /// Only as the first element: a value that feeds the pipeline.
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub struct Command {
    /// As written (`Get-CsService`, `where`, `?`).
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `-Name`, `-Name value` is a `Param` followed by a `Value`; `-Name:value` carries its value.
    Param {
        name: String,
        pos: Pos,
        value: Option<Expr>,
    },
    Value(Expr, Pos),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// A comparison operator, by its PowerShell name without the dash (`eq`, `notlike`, `in`...).
    Cmp(&'static str),
    /// `-f`, `-join`, `-split`, `-replace`.
    Format,
    Join,
    Split,
    Replace,
    /// `a..b`.
    Range,
    /// `-is` / `-isnot` with a type literal on the right.
    Is(bool),
}

#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    Var(String, Pos),
    Sub(Vec<Stmt>),
}

#[derive(Debug, Clone)]
pub struct ScriptBlock {
    /// The text between the braces, verbatim (passed through as a filter string).
    pub text: String,
    pub pos: Pos,
    /// The block parsed as statements; a filter block need not parse as a script.
    pub body: Result<Vec<Stmt>, super::PsError>,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Str(String),
    /// A double-quoted string with `$var` or `$(...)` inside.
    Expand(Vec<Part>),
    /// An unquoted word in argument mode (`FailedOver`, `pc01.contoso.com`).
    Bare(String),
    Int(i64),
    Float(f64),
    Var(String, Pos),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Array(Vec<Expr>),
    /// `@( ... )` and `$( ... )`.
    Sub(Vec<Stmt>),
    Paren(Box<Pipeline>),
    Hash(Vec<(String, Expr)>),
    Block(Box<ScriptBlock>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `-join $a`, `-split $s`.
    UnaryJoin(Box<Expr>),
    UnarySplit(Box<Expr>),
    /// `$x.Method(args)`.
    Method(Box<Expr>, String, Vec<Expr>),
    /// `[type]value` (type name in lower case, namespaces dropped for the supported ones).
    Cast(String, Box<Expr>),
    /// `[type]` alone (`-is [string]`).
    Type(String, Pos),
    /// `[Math]::Round(x, 2)`, `[DateTime]::Now`: type, member, arguments when called.
    Static(String, String, Option<Vec<Expr>>, Pos),
}
