//! Values crossing the seam: what a statement is bound with and what a row holds, in the shape of
//! SQLite's five storage classes (which PostgreSQL's types the store uses map onto: `bigint`,
//! `double precision`, `text`, `bytea`, NULL).

use std::fmt;

use super::{DbError, Result};

/// An owned value (the shape of `rusqlite::types::Value`, so the SQLite side is a move).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A parameter only (no column reads as one): see [`List`].
    List(List),
}

/// A list of integers or texts bound as one parameter (`dialect::in_json_list`). It is held in
/// SQLite's binding form, the JSON array `json_each` reads, so SQLite binds the text it always
/// bound with no work added; PostgreSQL decodes it into the array the server inferred for the
/// parameter of `= ANY($n)` (`int8[]`, `text[]`: `store::db::pg`), where the round trip costs
/// far more than the decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    json: String,
    of: Element,
}

/// What a [`List`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    Integer,
    Text,
}

impl List {
    pub fn integers(values: &[i64]) -> List {
        List::new(values, Element::Integer)
    }

    pub fn texts<S: AsRef<str> + serde::Serialize>(values: &[S]) -> List {
        List::new(values, Element::Text)
    }

    fn new<T: serde::Serialize>(values: &[T], of: Element) -> List {
        // Integers and strings always serialize.
        List { json: serde_json::to_string(values).unwrap_or_else(|_| "[]".into()), of }
    }

    /// The JSON array (what SQLite binds).
    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn element(&self) -> Element {
        self.of
    }
}

/// A borrowed value: what parameters are bound from and rows are read through, so that neither
/// binding a `&str` nor reading a column copies anything the backend does not copy itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    /// Bytes as the backend holds them: SQLite does not check that TEXT is UTF-8, so the check
    /// happens where a `String` is asked for, as rusqlite does.
    Text(&'a [u8]),
    Blob(&'a [u8]),
    List(&'a List),
}

/// The storage class of a value, named as SQLite names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Null,
    Integer,
    Real,
    Text,
    Blob,
    /// A parameter's, never a column's.
    List,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Null => "Null",
            Type::Integer => "Integer",
            Type::Real => "Real",
            Type::Text => "Text",
            Type::Blob => "Blob",
            Type::List => "List",
        })
    }
}

impl<'a> ValueRef<'a> {
    pub fn data_type(&self) -> Type {
        match self {
            ValueRef::Null => Type::Null,
            ValueRef::Integer(_) => Type::Integer,
            ValueRef::Real(_) => Type::Real,
            ValueRef::Text(_) => Type::Text,
            ValueRef::Blob(_) => Type::Blob,
            ValueRef::List(_) => Type::List,
        }
    }

    pub fn as_i64(&self) -> std::result::Result<i64, FromValueError> {
        match *self {
            ValueRef::Integer(i) => Ok(i),
            _ => Err(FromValueError::InvalidType),
        }
    }

    pub fn as_str(&self) -> std::result::Result<&'a str, FromValueError> {
        match *self {
            ValueRef::Text(t) => std::str::from_utf8(t).map_err(FromValueError::Utf8),
            _ => Err(FromValueError::InvalidType),
        }
    }

    pub fn as_bytes(&self) -> std::result::Result<&'a [u8], FromValueError> {
        match *self {
            ValueRef::Text(b) | ValueRef::Blob(b) => Ok(b),
            _ => Err(FromValueError::InvalidType),
        }
    }

    pub fn to_owned(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            // SQLite hands back TEXT that is not UTF-8 as it was stored; keep what it can.
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::List(l) => Value::List(l.clone()),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::List(l) => ValueRef::List(l),
        }
    }
}

/// Why a column's value is not the type asked for. The backend adds the column (index, name) to
/// make a `DbError` (see `Row::get`).
#[derive(Debug)]
pub enum FromValueError {
    InvalidType,
    OutOfRange(i64),
    Utf8(std::str::Utf8Error),
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl fmt::Display for FromValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromValueError::InvalidType => f.write_str("Invalid type"),
            FromValueError::OutOfRange(i) => write!(f, "Value {i} out of range"),
            FromValueError::Utf8(e) => e.fmt(f),
            FromValueError::Other(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FromValueError {}

/// A type a column can be read as.
pub trait FromValue: Sized {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, FromValueError>;
}

/// A type a parameter can be bound from. Fallible, like `rusqlite::ToSql`: some stored forms
/// refuse values (an enum index out of range).
pub trait ToValue {
    fn to_value(&self) -> Result<ValueRef<'_>>;
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        v.as_i64()
    }
}

macro_rules! integral {
    ($($t:ty),+) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
                let i = v.as_i64()?;
                <$t>::try_from(i).map_err(|_| FromValueError::OutOfRange(i))
            }
        }

        impl ToValue for $t {
            fn to_value(&self) -> Result<ValueRef<'_>> {
                i64::try_from(*self)
                    .map(ValueRef::Integer)
                    .map_err(|e| DbError::other(format!("{e}")))
            }
        }
    )+};
}

integral!(i32, u32, u64, usize, u8, i8, i16, u16);

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        match v {
            ValueRef::Integer(i) => Ok(i as f64),
            ValueRef::Real(r) => Ok(r),
            _ => Err(FromValueError::InvalidType),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        v.as_i64().map(|i| i != 0)
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        v.as_str().map(ToString::to_string)
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        v.as_bytes().map(<[u8]>::to_vec)
    }
}

impl FromValue for Value {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        Ok(v.to_owned())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> std::result::Result<Self, FromValueError> {
        match v {
            ValueRef::Null => Ok(None),
            _ => T::from_value(v).map(Some),
        }
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Integer(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Real(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Integer(i64::from(*self)))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self.as_bytes()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Text(self.as_bytes()))
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::Blob(self))
    }
}

impl ToValue for List {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::List(self))
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(ValueRef::from(self))
    }
}

impl ToValue for ValueRef<'_> {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        Ok(*self)
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(ValueRef::Null),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for Box<T> {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for std::rc::Rc<T> {
    fn to_value(&self) -> Result<ValueRef<'_>> {
        (**self).to_value()
    }
}

/// What a statement is bound with: `()`, an array or slice of values, the `params!` macro's
/// `[&dyn ToValue; N]`, or `params_from_iter`. Generic rather than `&[Value]` so that binding
/// borrows (no `String` per text parameter) and is monomorphised (no boxing).
pub trait Params {
    type Item: ToValue;
    type Iter: Iterator<Item = Self::Item>;
    fn into_values(self) -> Self::Iter;
}

impl Params for () {
    type Item = &'static Value;
    type Iter = std::iter::Empty<&'static Value>;
    fn into_values(self) -> Self::Iter {
        std::iter::empty()
    }
}

impl<T: ToValue, const N: usize> Params for [T; N] {
    type Item = T;
    type Iter = std::array::IntoIter<T, N>;
    fn into_values(self) -> Self::Iter {
        self.into_iter()
    }
}

impl<'a, T: ToValue> Params for &'a [T] {
    type Item = &'a T;
    type Iter = std::slice::Iter<'a, T>;
    fn into_values(self) -> Self::Iter {
        self.iter()
    }
}

impl<'a, T: ToValue, const N: usize> Params for &'a [T; N] {
    type Item = &'a T;
    type Iter = std::slice::Iter<'a, T>;
    fn into_values(self) -> Self::Iter {
        self.iter()
    }
}

impl<'a, T: ToValue> Params for &'a Vec<T> {
    type Item = &'a T;
    type Iter = std::slice::Iter<'a, T>;
    fn into_values(self) -> Self::Iter {
        self.iter()
    }
}

/// Parameters from an iterator (statements built at run time: filters, `IN` lists).
pub struct ParamsFromIter<I>(I);

pub fn params_from_iter<I: IntoIterator>(iter: I) -> ParamsFromIter<I::IntoIter>
where
    I::Item: ToValue,
{
    ParamsFromIter(iter.into_iter())
}

impl<I: Iterator> Params for ParamsFromIter<I>
where
    I::Item: ToValue,
{
    type Item = I::Item;
    type Iter = I;
    fn into_values(self) -> I {
        self.0
    }
}

/// `params![a, b]`: parameters of different types, as rusqlite's macro of the same name (a
/// reference to an array of `&dyn ToValue`, so it is `Copy` and coerces to a slice).
macro_rules! params {
    () => { () };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::db::ToValue),+]
    };
}
pub(crate) use params;
