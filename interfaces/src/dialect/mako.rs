//! The part of Mako that ifupdown2's files use, expanded as ifupdown2 does
//! before it parses a file (`ifupdown2/ifupdown/template.py`: the whole file
//! through `mako.template.Template`, only when it holds a `%`; read, not
//! copied): `%for NAME in EXPR:` ... `%endfor` (also `%for a, b in
//! zip(...)`), `%if`/`%elif`/`%else`/`%endif`, nested; `${EXPR}` in text;
//! `<% NAME = EXPR %>` blocks of assignments (`=`, `+=`, `-=`, `*=`); `##`
//! comment lines and `%%` for a literal `%`. Expressions are Python's
//! integers, strings, lists and tuples with `range`, `zip`, `len`, `str`,
//! `int`, `+ - * // %`, comparisons, `and`/`or`/`not`, and indexing.
//!
//! Anything else (`<%def>`, `<%namespace>`, filters `${x | h}`, attribute
//! access, other Python) is refused with the line and what it is, not
//! guessed at: netconf runs no Python. Each expanded line keeps the line
//! number it was written at, so diagnostics name the template's line.
//!
//! Differs from Mako on purpose: `${...}` in a line that starts with `#`
//! (a comment to ifupdown2) is left as it is, not evaluated.

use std::collections::HashMap;
use std::fmt;

/// More output than this is a mistake (`range(10**9)`), not a file.
const MAX_LINES: usize = 1 << 20;

/// More loop turns than this (nested loops that print nothing) too.
const MAX_STEPS: usize = 1 << 20;

/// Longer strings and lists than this (`s = s + s` in a loop) too.
const MAX_VALUE: usize = 1 << 16;

/// Why a template cannot be expanded, at which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub line: u32,
    pub message: String,
}

type Result<T> = std::result::Result<T, String>;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Str(String),
    Bool(bool),
    List(Vec<Value>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(_) => "str",
            Value::Bool(_) => "bool",
            Value::List(_) => "list",
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Value::Int(i) => *i != 0,
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
        }
    }

    fn items(self) -> Result<Vec<Value>> {
        match self {
            Value::List(l) => Ok(l),
            Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
            other => Err(format!("'{}' object is not iterable", other.type_name())),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match v {
                        Value::Str(s) => write!(f, "'{s}'")?,
                        v => write!(f, "{v}")?,
                    }
                }
                f.write_str("]")
            }
        }
    }
}

// ---- expressions ----

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(i64),
    Str(String),
    Name(String),
    Op(&'static str),
}

const OPS: [&str; 20] = [
    "//", "==", "!=", "<=", ">=", "+", "-", "*", "%", "<", ">", "(", ")", "[", "]", ",", ":", "=",
    "/", ".",
];

fn tokens(text: &str) -> Result<Vec<Token>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits
                .parse()
                .map_err(|_| format!("number {digits} is too large"))?;
            out.push(Token::Int(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or("a string without its closing quote")?;
            let s: String = chars[i + 1..i + 1 + end].iter().collect();
            if s.contains('\\') {
                return Err("escapes in strings are not supported".into());
            }
            out.push(Token::Str(s));
            i += end + 2;
        } else {
            let rest: String = chars[i..].iter().take(2).collect();
            let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                return Err(format!("`{c}` is not supported"));
            };
            out.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

/// A recursive-descent reader of one Python expression over its tokens,
/// evaluated as it is read (the expressions here are short and pure).
struct Eval<'a> {
    tokens: &'a [Token],
    at: usize,
    vars: &'a HashMap<String, Value>,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Token::Op(o)) if *o == op) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_name(&mut self, name: &str) -> bool {
        if matches!(self.peek(), Some(Token::Name(n)) if n == name) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!("`{op}` expected"))
        }
    }

    /// `a, b` (a tuple, as a list) or one expression.
    fn tuple(&mut self) -> Result<Value> {
        let first = self.or()?;
        if !matches!(self.peek(), Some(Token::Op(","))) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.peek().is_none() {
                break;
            }
            items.push(self.or()?);
        }
        Ok(Value::List(items))
    }

    fn or(&mut self) -> Result<Value> {
        let mut left = self.and()?;
        while self.eat_name("or") {
            let right = self.and()?;
            left = if left.truthy() { left } else { right };
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value> {
        let mut left = self.not()?;
        while self.eat_name("and") {
            let right = self.not()?;
            left = if left.truthy() { right } else { left };
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Value> {
        if self.eat_name("not") {
            return Ok(Value::Bool(!self.not()?.truthy()));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Value> {
        let left = self.sum()?;
        let op = match self.peek() {
            Some(Token::Op(op @ ("==" | "!=" | "<" | "<=" | ">" | ">="))) => *op,
            Some(Token::Name(n)) if n == "in" => "in",
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.sum()?;
        let ordered = |l: &Value, r: &Value| match (l, r) {
            (Value::Int(a), Value::Int(b)) => Ok(a.cmp(b)),
            (Value::Str(a), Value::Str(b)) => Ok(a.cmp(b)),
            _ => Err(format!(
                "'{op}' between '{}' and '{}' is not supported",
                l.type_name(),
                r.type_name()
            )),
        };
        let result = match op {
            "==" => left == right,
            "!=" => left != right,
            "in" => right.items()?.contains(&left),
            "<" => ordered(&left, &right)?.is_lt(),
            "<=" => ordered(&left, &right)?.is_le(),
            ">" => ordered(&left, &right)?.is_gt(),
            _ => ordered(&left, &right)?.is_ge(),
        };
        Ok(Value::Bool(result))
    }

    fn sum(&mut self) -> Result<Value> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                return Ok(left);
            };
            let right = self.product()?;
            left = arithmetic(op, left, right)?;
        }
    }

    fn product(&mut self) -> Result<Value> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Op(op @ ("*" | "//" | "%"))) => *op,
                Some(Token::Op("/")) => {
                    return Err("`/` (a float) is not supported: use `//`".into())
                }
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.unary()?;
            left = arithmetic(op, left, right)?;
        }
    }

    fn unary(&mut self) -> Result<Value> {
        if self.eat_op("-") {
            return arithmetic("-", Value::Int(0), self.unary()?);
        }
        if self.eat_op("+") {
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Value> {
        let mut value = self.atom()?;
        loop {
            if self.eat_op("[") {
                let index = self.or()?;
                self.expect_op("]")?;
                let Value::Int(i) = index else {
                    return Err("an index must be an int (slices are not supported)".into());
                };
                let items = value.items()?;
                let at = if i < 0 { items.len() as i64 + i } else { i };
                value = usize::try_from(at)
                    .ok()
                    .and_then(|at| items.into_iter().nth(at))
                    .ok_or("index out of range")?;
            } else if matches!(self.peek(), Some(Token::Op("."))) {
                return Err("attribute access (`.`) is not supported".into());
            } else {
                return Ok(value);
            }
        }
    }

    fn atom(&mut self) -> Result<Value> {
        let Some(token) = self.peek().cloned() else {
            return Err("an expression ends early".into());
        };
        self.at += 1;
        match token {
            Token::Int(i) => Ok(Value::Int(i)),
            Token::Str(s) => Ok(Value::Str(s)),
            Token::Op("(") => {
                let v = self.tuple()?;
                self.expect_op(")")?;
                Ok(v)
            }
            Token::Op("[") => {
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    items.push(self.or()?);
                    if !self.eat_op(",") {
                        self.expect_op("]")?;
                        break;
                    }
                }
                Ok(Value::List(items))
            }
            Token::Op(op) => Err(format!("`{op}` is not supported here")),
            Token::Name(name) if self.eat_op("(") => {
                let mut args = Vec::new();
                while !self.eat_op(")") {
                    args.push(self.or()?);
                    if !self.eat_op(",") {
                        self.expect_op(")")?;
                        break;
                    }
                }
                call(&name, args)
            }
            Token::Name(name) => match name.as_str() {
                "True" => Ok(Value::Bool(true)),
                "False" => Ok(Value::Bool(false)),
                _ => self
                    .vars
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| format!("name '{name}' is not defined")),
            },
        }
    }
}

fn arithmetic(op: &str, left: Value, right: Value) -> Result<Value> {
    let overflow = || "an integer overflows".to_string();
    match (op, left, right) {
        ("+", Value::Str(a), Value::Str(b)) if a.len() + b.len() > MAX_VALUE => {
            Err(format!("a string longer than {MAX_VALUE} bytes"))
        }
        ("+", Value::List(a), Value::List(b)) if a.len() + b.len() > MAX_VALUE => {
            Err(format!("a list longer than {MAX_VALUE} items"))
        }
        ("+", Value::Str(a), Value::Str(b)) => Ok(Value::Str(a + &b)),
        ("+", Value::List(mut a), Value::List(b)) => {
            a.extend(b);
            Ok(Value::List(a))
        }
        (op, Value::Int(a), Value::Int(b)) => {
            let v = match op {
                "+" => a.checked_add(b),
                "-" => a.checked_sub(b),
                "*" => a.checked_mul(b),
                "//" if b == 0 => return Err("integer division by zero".into()),
                "//" => Some(a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0)),
                _ if b == 0 => return Err("integer modulo by zero".into()),
                _ => Some(a - b * (a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0))),
            };
            v.map(Value::Int).ok_or_else(overflow)
        }
        (op, l, r) => Err(format!(
            "'{op}' between '{}' and '{}' is not supported",
            l.type_name(),
            r.type_name()
        )),
    }
}

fn call(name: &str, args: Vec<Value>) -> Result<Value> {
    let int = |v: &Value| match v {
        Value::Int(i) => Ok(*i),
        v => Err(format!("{name}(): '{}' is not an int", v.type_name())),
    };
    match (name, args.as_slice()) {
        ("range", [_] | [_, _] | [_, _, _]) => {
            let (start, stop, step) = match args.as_slice() {
                [stop] => (0, int(stop)?, 1),
                [start, stop] => (int(start)?, int(stop)?, 1),
                [start, stop, step] => (int(start)?, int(stop)?, int(step)?),
                _ => unreachable!("matched above"),
            };
            if step == 0 {
                return Err("range() arg 3 must not be zero".into());
            }
            let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
            let count = if step > 0 {
                ((stop - start).max(0) + step - 1) / step
            } else {
                ((start - stop).max(0) - step - 1) / -step
            };
            if count > MAX_LINES as i128 {
                return Err(format!("range() of {count} numbers is too long"));
            }
            Ok(Value::List(
                (0..count)
                    .map(|i| Value::Int((start + i * step) as i64))
                    .collect(),
            ))
        }
        ("zip", _) => {
            let lists = args
                .into_iter()
                .map(Value::items)
                .collect::<Result<Vec<_>>>()?;
            let n = lists.iter().map(Vec::len).min().unwrap_or(0);
            Ok(Value::List(
                (0..n)
                    .map(|i| Value::List(lists.iter().map(|l| l[i].clone()).collect()))
                    .collect(),
            ))
        }
        ("len", [v]) => Ok(Value::Int(v.clone().items()?.len() as i64)),
        ("str", [v]) => Ok(Value::Str(v.to_string())),
        ("int", [Value::Str(s)]) => s
            .trim()
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("int(): '{s}' is not a number")),
        ("int", [v]) => Ok(Value::Int(int(v)?)),
        ("list", [v]) => Ok(Value::List(v.clone().items()?)),
        _ => Err(format!("{name}() is not supported")),
    }
}

fn evaluate(text: &str, vars: &HashMap<String, Value>) -> Result<Value> {
    let tokens = tokens(text)?;
    let mut eval = Eval {
        tokens: &tokens,
        at: 0,
        vars,
    };
    let value = eval.tuple()?;
    match eval.peek() {
        None => Ok(value),
        Some(t) => Err(format!("`{}` is not supported here", show(t))),
    }
}

fn show(t: &Token) -> String {
    match t {
        Token::Int(i) => i.to_string(),
        Token::Str(s) => format!("'{s}'"),
        Token::Name(n) => n.clone(),
        Token::Op(o) => o.to_string(),
    }
}

// ---- the template ----

enum Node {
    Text(String, u32),
    For {
        targets: Vec<String>,
        iter: String,
        body: Vec<Node>,
        line: u32,
    },
    If {
        branches: Vec<(Option<String>, Vec<Node>)>,
        line: u32,
    },
    /// `NAME OP EXPR` assignments of a `<% %>` block.
    Code(Vec<(String, String, String, u32)>),
}

/// Expands `lines` (each with its line number) if the file is a template
/// (holds a `%`, as ifupdown2 decides), else returns them as they are.
pub fn expand(lines: Vec<(String, u32)>) -> std::result::Result<Vec<(String, u32)>, TemplateError> {
    if !lines.iter().any(|(l, _)| l.contains('%')) {
        return Ok(lines);
    }
    let mut at = 0;
    let (nodes, end) = block(&lines, &mut at, &[])?;
    if let Some((word, line)) = end {
        return Err(TemplateError {
            line,
            message: format!("Mako template: `%{word}` without its opening line"),
        });
    }
    let mut out = Vec::new();
    let mut vars = HashMap::new();
    let mut steps = 0;
    render(&nodes, &mut vars, &mut out, &mut steps)?;
    Ok(out)
}

fn error(line: u32, what: impl fmt::Display) -> TemplateError {
    TemplateError {
        line,
        message: format!(
            "Mako template: {what} (netconf expands %for/%if, ${{...}} and <% %> assignments of \
             simple Python expressions)"
        ),
    }
}

/// The control word of a `%` line (`for`, `endfor`, ...) and the rest.
fn control(text: &str) -> Option<(&str, &str)> {
    let body = text.trim_start().strip_prefix('%')?;
    if body.starts_with('%') {
        return None;
    }
    let body = body.trim();
    let end = body
        .find(|c: char| !c.is_alphanumeric() && c != '_')
        .unwrap_or(body.len());
    Some((&body[..end], body[end..].trim()))
}

type Block = (Vec<Node>, Option<(String, u32)>);

/// Reads nodes up to one of the control words in `ends` (returned with
/// its line) or the end of the file.
fn block(
    lines: &[(String, u32)],
    at: &mut usize,
    ends: &[&str],
) -> std::result::Result<Block, TemplateError> {
    let mut nodes = Vec::new();
    while *at < lines.len() {
        let (text, line) = (&lines[*at].0, lines[*at].1);
        *at += 1;
        let trimmed = text.trim_start();
        if trimmed.starts_with("##") {
            continue;
        }
        if let Some((word, rest)) = control(text) {
            if ends.contains(&word) {
                return Ok((nodes, Some((format!("{word} {rest}"), line))));
            }
            match word {
                "for" => {
                    let rest = rest
                        .strip_suffix(':')
                        .ok_or_else(|| error(line, "`%for` without its `:`"))?;
                    let (targets, iter) = rest
                        .split_once(" in ")
                        .ok_or_else(|| error(line, "`%for` without `in`"))?;
                    let targets: Vec<String> = targets
                        .trim()
                        .trim_matches(|c| c == '(' || c == ')')
                        .split(',')
                        .map(|t| t.trim().to_string())
                        .collect();
                    if targets.iter().any(|t| !is_name(t)) {
                        return Err(error(line, "`%for` names are not simple names"));
                    }
                    let (body, end) = block(lines, at, &["endfor"])?;
                    if end.is_none() {
                        return Err(error(line, "`%for` without its `%endfor`"));
                    }
                    nodes.push(Node::For {
                        targets,
                        iter: iter.trim().to_string(),
                        body,
                        line,
                    });
                }
                "if" => {
                    let mut branches = Vec::new();
                    let mut condition = Some(cond(rest, line)?);
                    loop {
                        let (body, end) = block(lines, at, &["elif", "else", "endif"])?;
                        branches.push((condition.take().flatten(), body));
                        let Some((end, end_line)) = end else {
                            return Err(error(line, "`%if` without its `%endif`"));
                        };
                        let (word, rest) = end.split_once(' ').unwrap_or((&end, ""));
                        match word {
                            "endif" => break,
                            "elif" => condition = Some(cond(rest.trim(), end_line)?),
                            _ => condition = Some(None),
                        }
                    }
                    nodes.push(Node::If { branches, line });
                }
                other => {
                    let what = if other.is_empty() {
                        "a `%` line without a control word".to_string()
                    } else if matches!(other, "endfor" | "endif" | "elif" | "else") {
                        format!("`%{other}` without its opening line")
                    } else if false {
                        "a `%` line without a control word".to_string()
                    } else {
                        format!("`%{other}` is not supported")
                    };
                    return Err(error(line, what));
                }
            }
            continue;
        }
        if let Some(code) = trimmed.strip_prefix("<%") {
            if code.starts_with(|c: char| c.is_alphabetic() || c == '!' || c == '/') {
                let tag: String = code
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>')
                    .collect();
                return Err(error(line, format!("`<%{tag}` is not supported")));
            }
            // The block up to `%>`, perhaps over several lines.
            let mut code = code.to_string();
            let mut numbers = vec![line];
            while !code.trim_end().ends_with("%>") {
                let Some((next, n)) = lines.get(*at) else {
                    return Err(error(line, "`<%` without its `%>`"));
                };
                *at += 1;
                code.push('\n');
                code.push_str(next);
                numbers.push(*n);
            }
            let code = code.trim_end().strip_suffix("%>").unwrap_or_default();
            if code.contains("%>") {
                return Err(error(line, "text after `%>` is not supported"));
            }
            let mut statements = Vec::new();
            for (statement, n) in code.split('\n').zip(numbers) {
                let statement = statement.trim();
                if statement.is_empty() || statement.starts_with('#') {
                    continue;
                }
                statements.push(assignment(statement, n)?);
            }
            nodes.push(Node::Code(statements));
            continue;
        }
        if trimmed.contains("<%") {
            return Err(error(line, "`<%` after text on a line is not supported"));
        }
        let text = match trimmed.strip_prefix("%%") {
            Some(_) => text.replacen("%%", "%", 1),
            None => text.clone(),
        };
        nodes.push(Node::Text(text, line));
    }
    Ok((nodes, None))
}

fn cond(rest: &str, line: u32) -> std::result::Result<Option<String>, TemplateError> {
    let c = rest
        .strip_suffix(':')
        .ok_or_else(|| error(line, "a condition without its `:`"))?;
    Ok(Some(c.trim().to_string()))
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn assignment(
    statement: &str,
    line: u32,
) -> std::result::Result<(String, String, String, u32), TemplateError> {
    for op in ["+=", "-=", "*=", "="] {
        if let Some((name, expr)) = statement.split_once(op) {
            let name = name.trim();
            if is_name(name) && !expr.starts_with('=') {
                return Ok((name.into(), op.into(), expr.trim().into(), line));
            }
        }
    }
    Err(error(
        line,
        format!("`{statement}` is not supported (only NAME = EXPR, +=, -=, *=)"),
    ))
}

fn render(
    nodes: &[Node],
    vars: &mut HashMap<String, Value>,
    out: &mut Vec<(String, u32)>,
    steps: &mut usize,
) -> std::result::Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(text, line) => {
                let text = if text.trim_start().starts_with('#') {
                    text.clone()
                } else {
                    substitute(text, vars).map_err(|e| error(*line, e))?
                };
                if out.len() >= MAX_LINES {
                    return Err(error(*line, format!("more than {MAX_LINES} lines")));
                }
                out.push((text, *line));
            }
            Node::For {
                targets,
                iter,
                body,
                line,
            } => {
                let items = evaluate(iter, vars)
                    .and_then(Value::items)
                    .map_err(|e| error(*line, e))?;
                for item in items {
                    *steps += 1;
                    if *steps > MAX_STEPS {
                        return Err(error(*line, format!("more than {MAX_STEPS} loop turns")));
                    }
                    if let [one] = targets.as_slice() {
                        vars.insert(one.clone(), item);
                    } else {
                        let parts = item.items().map_err(|e| error(*line, e))?;
                        if parts.len() != targets.len() {
                            let message = format!(
                                "cannot unpack {} values into {} names",
                                parts.len(),
                                targets.len()
                            );
                            return Err(error(*line, message));
                        }
                        for (name, value) in targets.iter().zip(parts) {
                            vars.insert(name.clone(), value);
                        }
                    }
                    render(body, vars, out, steps)?;
                }
            }
            Node::If { branches, line } => {
                for (condition, body) in branches {
                    let taken = match condition {
                        None => true,
                        Some(c) => evaluate(c, vars).map_err(|e| error(*line, e))?.truthy(),
                    };
                    if taken {
                        render(body, vars, out, steps)?;
                        break;
                    }
                }
            }
            Node::Code(statements) => {
                for (name, op, expr, line) in statements {
                    let value = evaluate(expr, vars).map_err(|e| error(*line, e))?;
                    let value = match op.as_str() {
                        "=" => value,
                        op => {
                            let old = vars.get(name).cloned().ok_or_else(|| {
                                error(*line, format!("name '{name}' is not defined"))
                            })?;
                            arithmetic(&op[..1], old, value).map_err(|e| error(*line, e))?
                        }
                    };
                    vars.insert(name.clone(), value);
                }
            }
        }
    }
    Ok(())
}

/// `${EXPR}` in a text line replaced by its value.
fn substitute(text: &str, vars: &HashMap<String, Value>) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..];
        let mut depth = 0usize;
        let end = inner
            .char_indices()
            .find(|&(_, c)| match c {
                '{' => {
                    depth += 1;
                    false
                }
                '}' if depth == 0 => true,
                '}' => {
                    depth -= 1;
                    false
                }
                _ => false,
            })
            .map(|(i, _)| i)
            .ok_or("`${` without its `}`")?;
        let expr = &inner[..end];
        if expr.contains('|') {
            return Err(format!("the filter in `${{{expr}}}` is not supported"));
        }
        let value = evaluate(expr, vars)?;
        if let Value::List(_) = value {
            return Err(format!("`${{{expr}}}` is a list, not text"));
        }
        out.push_str(&value.to_string());
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(String, u32)> {
        text.split('\n')
            .enumerate()
            .map(|(i, l)| (l.to_string(), i as u32 + 1))
            .collect()
    }

    fn run(text: &str) -> std::result::Result<Vec<(String, u32)>, TemplateError> {
        expand(lines(text))
    }

    fn texts(text: &str) -> Vec<String> {
        run(text).unwrap().into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn for_over_range_and_list_with_arithmetic() {
        let out = run("%for v in range(1,3):\niface vlan${v}\n  mtu ${v*100+1}\n%endfor\nx");
        assert_eq!(
            out.unwrap(),
            vec![
                ("iface vlan1".into(), 2),
                ("  mtu 101".into(), 3),
                ("iface vlan2".into(), 2),
                ("  mtu 201".into(), 3),
                ("x".into(), 5),
            ]
        );
        assert_eq!(
            texts("%for v in [11, 12]:\nswp${v}\n%endfor"),
            ["swp11", "swp12"]
        );
    }

    #[test]
    fn nested_zip_if_and_code_blocks() {
        let t = "<%\n    id = 5\n    access = 2\n%>\n%for i in range(0,2):\nswp${id} ${access}\n\
                 <%\n  id += 1\n  access -= 1\n%>\n%endfor\n\
                 %for p, v in zip(range(2, 4), range(2004, 2022)) :\n  %for s in ['a', 'b']:\n\
                 %if p == 3 and s != 'a':\n${p}${s}=${v}\n%else:\n## hidden\n%endif\n  %endfor\n\
                 %endfor\n# ${nothing}\n%% literal";
        assert_eq!(
            texts(t),
            ["swp5 2", "swp6 1", "3b=2005", "# ${nothing}", "% literal"]
        );
        // Floor division and modulo as Python's.
        assert_eq!(texts("%if 1:\n${-7//2} ${-7%3}\n%endif"), ["-4 2"]);
        // A file without `%` is not a template, `${` and all.
        assert_eq!(texts("iface ${x}"), ["iface ${x}"]);
    }

    #[test]
    fn what_is_not_supported_is_refused_at_its_line() {
        let e = run("auto a\n<%def name=\"x()\">\n</%def>").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`<%def`"), "{}", e.message);
        let e = run("%for v in range(2):\n${v.upper()}\n%endfor").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("attribute"), "{}", e.message);
        let e = run("%for v in range(2):\nx\n").unwrap_err();
        assert!(e.message.contains("%endfor"), "{}", e.message);
        let e = run("%while x:\n").unwrap_err();
        assert!(e.message.contains("`%while`"), "{}", e.message);
        let e = run("<% import os %>\n%").unwrap_err();
        assert!(e.message.contains("import os"), "{}", e.message);
        let e = run("%for v in range(10000000000):\n%endfor").unwrap_err();
        assert!(e.message.contains("too long"), "{}", e.message);
        let e = run("%endfor").unwrap_err();
        assert_eq!(e.line, 1);
        let e =
            run("%for a in range(2000):\n%for b in range(2000):\n%endfor\n%endfor").unwrap_err();
        assert!(e.message.contains("loop turns"), "{}", e.message);
        let e = run("<% s = 'ab' %>\n%for a in range(64):\n<% s = s + s %>\n%endfor").unwrap_err();
        assert!(e.message.contains("longer than"), "{}", e.message);
        let e = run("%if 1:\n${x | h}\n%endif").unwrap_err();
        assert!(e.message.contains("filter"), "{}", e.message);
    }
}
