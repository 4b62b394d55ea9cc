//! Integer expressions inside `( … )` of a cell list, with C's operators and precedence, in
//! 64-bit unsigned arithmetic as dtc evaluates them.

use super::cursor::Cursor;
use crate::Result;

/// A primary: literal, character literal or parenthesised expression.
pub(crate) fn primary(c: &mut Cursor<'_>) -> Result<u64> {
    c.ws()?;
    match c.peek() {
        Some(b'(') => {
            c.bump();
            let v = expr(c)?;
            c.expect(")")?;
            Ok(v)
        }
        Some(b'\'') => c.char_literal(),
        Some(d) if d.is_ascii_digit() => c.literal(),
        _ => Err(c.err(format!("expected an integer, found {}", c.found()))),
    }
}

/// A full expression (conditional level).
pub(crate) fn expr(c: &mut Cursor<'_>) -> Result<u64> {
    let cond = binary(c, 0)?;
    c.ws()?;
    if c.eat("?") {
        let a = expr(c)?;
        c.expect(":")?;
        let b = expr(c)?;
        return Ok(if cond != 0 { a } else { b });
    }
    Ok(cond)
}

/// Operator tables from loosest to tightest. Longer spellings first so `<<` is not read as `<`.
const LEVELS: &[&[&str]] = &[
    &["||"],
    &["&&"],
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<=", ">=", "<", ">"],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

fn peek_op(c: &mut Cursor<'_>, level: usize) -> Result<Option<&'static str>> {
    c.ws()?;
    for &op in LEVELS[level] {
        if c.starts_with(op) {
            // `|` must not take the first half of `||`, `&` of `&&`, `<` of `<<`…
            let longer = LEVELS
                .iter()
                .flat_map(|l| l.iter())
                .any(|&o| o.len() > op.len() && o.starts_with(op) && c.starts_with(o));
            if !longer {
                return Ok(Some(op));
            }
        }
    }
    Ok(None)
}

fn binary(c: &mut Cursor<'_>, level: usize) -> Result<u64> {
    if level == LEVELS.len() {
        return unary(c);
    }
    let mut lhs = binary(c, level + 1)?;
    while let Some(op) = peek_op(c, level)? {
        c.eat(op);
        let rhs = binary(c, level + 1)?;
        lhs = match op {
            "||" => u64::from(lhs != 0 || rhs != 0),
            "&&" => u64::from(lhs != 0 && rhs != 0),
            "|" => lhs | rhs,
            "^" => lhs ^ rhs,
            "&" => lhs & rhs,
            "==" => u64::from(lhs == rhs),
            "!=" => u64::from(lhs != rhs),
            "<=" => u64::from(lhs <= rhs),
            ">=" => u64::from(lhs >= rhs),
            "<" => u64::from(lhs < rhs),
            ">" => u64::from(lhs > rhs),
            "<<" => lhs.checked_shl(rhs as u32).unwrap_or(0),
            ">>" => lhs.checked_shr(rhs as u32).unwrap_or(0),
            "+" => lhs.wrapping_add(rhs),
            "-" => lhs.wrapping_sub(rhs),
            "*" => lhs.wrapping_mul(rhs),
            "/" | "%" => {
                if rhs == 0 {
                    return Err(c.err("division by zero"));
                }
                if op == "/" { lhs / rhs } else { lhs % rhs }
            }
            _ => unreachable!("operator table"),
        };
    }
    Ok(lhs)
}

fn unary(c: &mut Cursor<'_>) -> Result<u64> {
    c.ws()?;
    if c.eat("-") {
        return Ok(unary(c)?.wrapping_neg());
    }
    if c.eat("~") {
        return Ok(!unary(c)?);
    }
    if c.starts_with("!") && !c.starts_with("!=") {
        c.eat("!");
        return Ok(u64::from(unary(c)? == 0));
    }
    primary(c)
}
