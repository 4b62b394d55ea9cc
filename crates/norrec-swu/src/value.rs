//! The dynamic tree both sw-description syntaxes parse into (libconfig and JSON), on which the
//! selection rules and the typed model work.

use crate::error::{Error, Result};

/// A libconfig value (JSON maps onto it: objects are groups, arrays are lists).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `{ name = value; … }`, in file order.
    Group(Vec<(String, Value)>),
    /// `( value, … )`: any values.
    List(Vec<Value>),
    /// `[ scalar, … ]`: scalars of one type.
    Array(Vec<Value>),
    /// A string (adjacent literals already joined).
    Str(String),
    /// An integer (decimal or hex, with or without `L`).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
}

impl Value {
    /// A member of a group by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Group(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of group member names.
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<&Value> {
        path.iter().try_fold(self, |v, name| v.get(name.as_ref()))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a list or array.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Array(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is a group.
    pub fn is_group(&self) -> bool {
        matches!(self, Value::Group(_))
    }

    /// A short name of the kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Group(_) => "group",
            Value::List(_) => "list",
            Value::Array(_) => "array",
            Value::Str(_) => "string",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
        }
    }

    /// Converts parsed JSON (SWUpdate's JSON form of sw-description).
    pub fn from_json(v: &serde_json::Value) -> Result<Value> {
        Ok(match v {
            serde_json::Value::Object(m) => Value::Group(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_json(v)?)))
                    .collect::<Result<_>>()?,
            ),
            serde_json::Value::Array(a) => {
                Value::List(a.iter().map(Value::from_json).collect::<Result<_>>()?)
            }
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(f) = n.as_f64() {
                    Value::Float(f)
                } else {
                    return Err(Error::Json(format!("number {n} out of range")));
                }
            }
            serde_json::Value::Null => return Err(Error::Json("null is not allowed".into())),
        })
    }

    /// Parses JSON text.
    pub fn parse_json(text: &str) -> Result<Value> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Json(format!("line {}, column {}: {e}", e.line(), e.column())))?;
        Value::from_json(&v)
    }
}
