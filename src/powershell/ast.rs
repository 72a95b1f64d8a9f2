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
    /// `$var = ...` or `$var.Prop = ...`.
    Assign {
        var: String,
        var_pos: Pos,
        props: Vec<String>,
        value: Pipeline,
    },
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
}
