//! YAML scenario files (`.yaml`, `.yml`): the same document as JSON,
//! written in YAML 1.2, read as strictly.
//!
//! - Scalars are resolved by YAML 1.2's core schema: `true`/`false`,
//!   `null`/`~`, numbers; everything else is a string, so `no`, `on` or
//!   `1:30` stay strings (YAML 1.1's surprises), and quoted values are
//!   always strings.
//! - A key given twice in one mapping is an error naming both lines.
//! - Template placeholders (`${VAR}`, `{{ .Values.x }}`) are not values:
//!   every one is listed with its line and column, so a template is filled
//!   in before it is read.
//! - Anchors and aliases are expanded, at most [`MAX_NODES`] values in
//!   all; tags other than YAML's own are refused; one document per file.
//! - A CloudFormation template ([`parse_docs_cfn`]) keeps its short-form
//!   intrinsic functions as their long form: `!Ref X` is `{"Ref": "X"}`,
//!   `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` is
//!   `{"Fn::Sub": s}`, and its `${...}` are CloudFormation's, not
//!   placeholders.

use crate::error::ScenarioError;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::path::Path;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most values a document may expand to (aliases included).
pub(crate) const MAX_NODES: usize = 1_000_000;

/// Most mappings and sequences open at once (a scenario nests a few; the
/// bound keeps the values' own recursion shallow).
const MAX_DEPTH: usize = 128;

enum Frame {
    Seq(Vec<Value>, usize, String),
    Map {
        map: Map<String, Value>,
        anchor: usize,
        /// Its JSON path in the document.
        path: String,
        /// Each key's line, for a duplicate's message.
        lines: HashMap<String, usize>,
        key: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Anchored values and how deep each nests.
    anchors: HashMap<usize, (Value, usize)>,
    /// Where the document's root container starts.
    root_start: Option<Marker>,
    /// The deepest value completed inside each open container.
    inner: Vec<usize>,
    docs: Vec<(Value, Marker)>,
    error: Option<(Marker, String)>,
    placeholders: Vec<(Marker, String)>,
    nodes: usize,
    /// Where each key and each list item starts (document, JSON path).
    lines: Vec<(usize, String, Marker)>,
    /// Reading a CloudFormation template: `!Tag` short forms are kept.
    cfn: bool,
    /// The CloudFormation function each open container is the argument of.
    wraps: Vec<Option<String>>,
}

/// CloudFormation's long form of the short-form tag `suffix` around `v`.
fn cfn_long_form(suffix: &str, v: Value) -> Value {
    // `Ref` and `Condition` have no `Fn::` in their long form.
    let key = if suffix == "Ref" || suffix == "Condition" {
        suffix.to_string()
    } else {
        format!("Fn::{suffix}")
    };
    let v = match (suffix, v) {
        ("GetAtt", Value::String(s)) => match s.split_once('.') {
            Some((a, b)) => Value::from(vec![a.to_string(), b.to_string()]),
            None => Value::String(s),
        },
        (_, v) => v,
    };
    let mut m = Map::new();
    m.insert(key, v);
    Value::Object(m)
}

fn placeholder(s: &str) -> Option<String> {
    for (open, close) in [("${", "}"), ("{{", "}}")] {
        if let Some(i) = s.find(open) {
            let end = s[i..].find(close).map_or(s.len(), |j| i + j + close.len());
            return Some(s[i..end].to_string());
        }
    }
    None
}

/// A plain scalar by YAML 1.2's core schema.
fn resolve(s: &str) -> Result<Value, String> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | "+.Inf" | "-.Inf" | ".nan" | ".NaN"
        | ".NAN" => {
            return Err(format!(
                "`{s}` is not a number a scenario can hold; write a finite number (quote it for a string)"
            ))
        }
        _ => {}
    }
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned) {
        if let Ok(n) = s.parse::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = s.trim_start_matches('+').parse::<u64>() {
            return Ok(Value::from(n));
        }
    }
    if let Some(h) = s.strip_prefix("0x") {
        if let Ok(n) = u64::from_str_radix(h, 16) {
            return Ok(Value::from(n));
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if let Ok(n) = u64::from_str_radix(o, 8) {
            return Ok(Value::from(n));
        }
    }
    let float_like = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && unsigned.bytes().any(|b| b.is_ascii_digit());
    if float_like {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Ok(Value::Number(n));
        }
    }
    Ok(Value::String(s.to_string()))
}

impl Builder {
    fn fail(&mut self, mark: Marker, msg: String) {
        if self.error.is_none() {
            self.error = Some((mark, msg));
        }
    }

    /// The CloudFormation function a `!Tag` stands for, when reading a
    /// template.
    fn cfn_tag(&self, tag: &Option<Tag>) -> Option<String> {
        tag.as_ref()
            .filter(|t| self.cfn && t.handle == "!" && !t.suffix.is_empty())
            .map(|t| t.suffix.clone())
    }

    fn tag_ok(&mut self, tag: &Option<Tag>, mark: Marker) -> bool {
        match tag {
            None => true,
            Some(t) if t.handle == "!!" || t.handle == "tag:yaml.org,2002:" => true,
            Some(_) if self.cfn_tag(tag).is_some() => true,
            Some(t) => {
                self.fail(
                    mark,
                    format!(
                        "the tag `{}{}` is not part of a scenario; write the value itself",
                        t.handle, t.suffix
                    ),
                );
                false
            }
        }
    }

    /// The JSON path of a container starting now (a list item's start is
    /// recorded here).
    fn child_path(&mut self, mark: Marker) -> String {
        let doc = self.docs.len();
        match self.stack.last() {
            None => {
                self.root_start = Some(mark);
                String::new()
            }
            Some(Frame::Seq(items, _, path)) => {
                let p = format!("{path}[{}]", items.len());
                self.lines.push((doc, p.clone(), mark));
                p
            }
            Some(Frame::Map { path, key, .. }) => match key {
                Some(k) if path.is_empty() => k.clone(),
                Some(k) => format!("{path}.{k}"),
                None => path.clone(),
            },
        }
    }

    fn push(&mut self, v: Value, mark: Marker, anchor: usize, depth: usize) {
        if let Some(d) = self.inner.last_mut() {
            *d = (*d).max(depth);
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.fail(
                mark,
                format!("more than {MAX_NODES} values (aliases expanded); a scenario is a few kilobytes"),
            );
            return;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, (v.clone(), depth));
        }
        let doc = self.docs.len();
        let mut recorded = None;
        match self.stack.last_mut() {
            None => {
                let start = self.root_start.take().unwrap_or(mark);
                self.docs.push((v, start));
            }
            Some(Frame::Seq(items, _, _)) => items.push(v),
            Some(Frame::Map {
                map,
                lines,
                key,
                path,
                ..
            }) => match key.take() {
                Some(k) => {
                    map.insert(k, v);
                }
                None => {
                    let k = match v {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            self.fail(
                                mark,
                                "a mapping key must be a plain value, not a list or a mapping"
                                    .into(),
                            );
                            return;
                        }
                    };
                    if let Some(first) = lines.get(&k) {
                        let first = *first;
                        self.fail(
                            mark,
                            format!("duplicate key `{k}` (first at line {first}); each key may appear once in a mapping (a YAML reader would silently keep the last)"),
                        );
                        return;
                    }
                    lines.insert(k.clone(), mark.line());
                    recorded = Some(if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    });
                    *key = Some(k);
                }
            },
        }
        if let Some(at) = recorded {
            self.lines.push((doc, at, mark));
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                if !self.tag_ok(&tag, mark) {
                    return;
                }
                if let Some(f) = self.cfn_tag(&tag) {
                    let v = cfn_long_form(&f, Value::String(s));
                    self.push(v, mark, anchor, 1);
                    return;
                }
                if !self.cfn {
                    if let Some(p) = placeholder(&s) {
                        self.placeholders.push((mark, p));
                    }
                }
                let v = match (style, &tag) {
                    (TScalarStyle::Plain, None) => match resolve(&s) {
                        Ok(v) => v,
                        Err(e) => {
                            self.fail(mark, e);
                            return;
                        }
                    },
                    (TScalarStyle::Plain, Some(t)) if t.suffix != "str" => match resolve(&s) {
                        Ok(v) => v,
                        Err(e) => {
                            self.fail(mark, e);
                            return;
                        }
                    },
                    _ => Value::String(s),
                };
                self.push(v, mark, anchor, 0);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(mark, format!("nested more than {MAX_DEPTH} deep"));
            }
            Event::SequenceStart(anchor, tag) => {
                self.tag_ok(&tag, mark);
                let wrap = self.cfn_tag(&tag);
                self.wraps.push(wrap);
                let path = self.child_path(mark);
                self.stack.push(Frame::Seq(Vec::new(), anchor, path));
                self.inner.push(0);
            }
            Event::MappingStart(anchor, tag) => {
                self.tag_ok(&tag, mark);
                let wrap = self.cfn_tag(&tag);
                self.wraps.push(wrap);
                let path = self.child_path(mark);
                self.inner.push(0);
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    anchor,
                    path,
                    lines: HashMap::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, anchor, _)) => {
                    let d = self.inner.pop().unwrap_or(0) + 1;
                    let (v, d) = self.unwrap_tag(Value::Array(items), d);
                    self.push(v, mark, anchor, d)
                }
                Some(Frame::Map { map, anchor, .. }) => {
                    let d = self.inner.pop().unwrap_or(0) + 1;
                    let (v, d) = self.unwrap_tag(Value::Object(map), d);
                    self.push(v, mark, anchor, d)
                }
                None => {}
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                // An alias nests its value where it stands: the whole must
                // stay within the bound.
                Some((_, depth)) if self.stack.len() + depth > MAX_DEPTH => {
                    self.fail(
                        mark,
                        format!("an alias that nests more than {MAX_DEPTH} deep"),
                    );
                }
                Some((v, depth)) => {
                    self.nodes += count(&v);
                    self.push(v, mark, 0, depth);
                }
                None => self.fail(mark, "an alias to an anchor not defined before it".into()),
            },
            _ => {}
        }
    }
}

impl Builder {
    /// A closed container `depth` deep, in its CloudFormation function
    /// (one deeper) when tagged.
    fn unwrap_tag(&mut self, v: Value, depth: usize) -> (Value, usize) {
        match self.wraps.pop().flatten() {
            Some(f) => (cfn_long_form(&f, v), depth + 1),
            None => (v, depth),
        }
    }
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().map(count).sum::<usize>() + 1,
        Value::Object(o) => o.values().map(count).sum::<usize>() + 1,
        _ => 1,
    }
}

fn error(file: &Path, mark: &Marker, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Native {
        file: file.to_path_buf(),
        line: mark.line(),
        column: mark.col() + 1,
        format: "yaml",
        reason: reason.into(),
    }
}

/// Whether `file` is named as YAML.
pub(crate) fn is_yaml(file: &Path) -> bool {
    file.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// A YAML document as JSON, with where each of its keys and list items
/// is.
pub(crate) struct Doc {
    pub(crate) value: Value,
    /// The line the document starts on.
    pub(crate) line: usize,
    /// (JSON path, line, column) of every key and list item.
    pub(crate) places: Vec<(String, usize, usize)>,
}

impl Doc {
    /// Where the value at `path` (or the nearest enclosing one) is.
    pub(crate) fn at(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some((_, l, c)) = self.places.iter().find(|(q, _, _)| q == p) {
                return (*l, *c);
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return (self.line, 1),
            }
        }
    }
}

/// Every document of a YAML stream, with where its values are.
pub(crate) fn parse_docs(text: &str, file: &Path) -> Result<Vec<Doc>, ScenarioError> {
    parse_docs_with(text, file, false)
}

/// Every document of a CloudFormation template in YAML, its short-form
/// intrinsic functions (`!Ref`, `!Sub`, `!GetAtt`...) in their long form.
pub(crate) fn parse_docs_cfn(text: &str, file: &Path) -> Result<Vec<Doc>, ScenarioError> {
    parse_docs_with(text, file, true)
}

fn parse_docs_with(text: &str, file: &Path, cfn: bool) -> Result<Vec<Doc>, ScenarioError> {
    let mut b = Builder {
        cfn,
        ..Builder::default()
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser::new_from_str(text);
    if let Err(e) = p.load(&mut b, true) {
        let m = *e.marker();
        return Err(error(file, &m, e.info().to_string()));
    }
    finish(b, file)
}

fn finish(mut b: Builder, file: &Path) -> Result<Vec<Doc>, ScenarioError> {
    if let Some((m, msg)) = b.error.take() {
        return Err(error(file, &m, msg));
    }
    if let Some((first, p)) = b.placeholders.first() {
        let more: Vec<String> = b.placeholders[1..]
            .iter()
            .map(|(m, p)| format!("`{p}` at {}:{}", m.line(), m.col() + 1))
            .collect();
        let also = if more.is_empty() {
            String::new()
        } else {
            format!("; also {}", more.join(", "))
        };
        return Err(error(
            file,
            first,
            format!("the template placeholder `{p}` is not a value: fill in every placeholder before fleetsim reads the file{also}"),
        ));
    }
    let mut docs: Vec<Doc> = b
        .docs
        .into_iter()
        .map(|(value, m)| Doc {
            value,
            line: m.line(),
            places: Vec::new(),
        })
        .collect();
    for (d, path, m) in b.lines {
        if let Some(doc) = docs.get_mut(d) {
            doc.places.push((path, m.line(), m.col() + 1));
        }
    }
    Ok(docs)
}

/// Every document of a YAML stream, as JSON values, with where each
/// starts.
pub(crate) fn parse_all(text: &str, file: &Path) -> Result<Vec<(Value, usize)>, ScenarioError> {
    Ok(parse_docs(text, file)?
        .into_iter()
        .map(|d| (d.value, d.line))
        .collect())
}

/// The one document of a YAML scenario (or sweep) file.
pub(crate) fn parse(text: &str, file: &Path) -> Result<Value, ScenarioError> {
    let mut docs = parse_all(text, file)?;
    match docs.len() {
        0 => Err(ScenarioError::Io {
            file: file.to_path_buf(),
            reason: "an empty YAML file; a scenario is one mapping".into(),
        }),
        1 => Ok(docs.remove(0).0),
        _ => Err(ScenarioError::Native {
            file: file.to_path_buf(),
            line: docs[1].1,
            column: 1,
            format: "yaml",
            reason: "a second document; a scenario file holds one".into(),
        }),
    }
}

/// `v` as YAML text (block style; strings double-quoted where YAML would
/// read them as something else).
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    if is_block(v) {
        block(v, 0, &mut out);
    } else {
        out.push_str(&scalar(v));
        out.push('\n');
    }
    out
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
                && matches!(resolve(s), Ok(Value::String(_)))
                && !s.starts_with(['-', '.']);
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

/// A non-empty mapping or sequence, one entry a line at `indent`.
fn block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let child = |x: &Value, out: &mut String| {
        if is_block(x) {
            out.push('\n');
            block(x, indent + 2, out);
        } else {
            out.push(' ');
            out.push_str(&scalar(x));
            out.push('\n');
        }
    };
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(k.clone())));
                out.push(':');
                child(x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                out.push_str(&pad);
                out.push('-');
                child(x, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> Result<Value, String> {
        parse(text, Path::new("t.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn core_schema_scalars_and_no_yaml_1_1_surprises() {
        let v =
            p("a: 1\nb: -2.5\nc: true\nd: no\ne: \"3\"\nf: ~\ng: 1:30\nh: 0x1f\ni: on\nj: 1e3\n")
                .unwrap();
        assert_eq!(
            v,
            json!({ "a": 1, "b": -2.5, "c": true, "d": "no", "e": "3", "f": null, "g": "1:30",
                    "h": 31, "i": "on", "j": 1000.0 })
        );
    }

    #[test]
    fn duplicates_tags_placeholders_and_documents_are_refused_with_their_place() {
        let e = p("a: 1\nb:\n  c: 2\n  c: 3\n").unwrap_err();
        assert!(
            e.starts_with("t.yaml:4:3: yaml: duplicate key `c` (first at line 3)"),
            "{e}"
        );
        let e = p("a: !Ref Foo\n").unwrap_err();
        assert!(e.contains("1:9: yaml: the tag `!Ref`"), "{e}");
        let e = p("a: ${REPLICAS}\nb: \"{{ .Values.rate }}\"\n").unwrap_err();
        assert!(
            e.starts_with("t.yaml:1:4: yaml: the template placeholder `${REPLICAS}`"),
            "{e}"
        );
        assert!(e.contains("also `{{ .Values.rate }}` at 2:4"), "{e}");
        let e = p("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.contains("a second document"), "{e}");
        let e = p("a: [1, 2\n").unwrap_err();
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(p("a: .inf\n").unwrap_err().contains("not a number"));
        let deep = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert!(p(&deep(200))
            .unwrap_err()
            .contains("nested more than 128 deep"));
        // Deeper still, the parser's own limit refuses it, never a crash.
        assert!(p(&deep(100_000)).unwrap_err().starts_with("t.yaml:1:"));
    }

    #[test]
    fn anchors_expand_and_are_bounded() {
        let v = p("x: &d { slots: 4 }\ny: *d\n").unwrap();
        assert_eq!(v["y"], json!({ "slots": 4 }));
        // A billion laughs stops at the bound.
        let mut text = String::from("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
        let mut prev = 'a';
        for c in 'b'..='j' {
            text.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        assert!(p(&text).unwrap_err().contains("more than"));
        // A chain of aliases, each nesting the one before, stops at the
        // depth bound (the values' own recursion stays shallow).
        let mut chain = String::from("a0: &a0 [1]\n");
        for i in 1..200 {
            chain.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        assert!(p(&chain)
            .unwrap_err()
            .contains("an alias that nests more than 128 deep"));
        // A second document's error points at its start.
        let e = p("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.starts_with("t.yaml:3:"), "{e}");
    }

    #[test]
    fn yaml_out_reads_back_as_the_same_value() {
        let v = json!({ "deployment": { "regions": { "llm_agents": { "instances": 4 } },
            "retries": { "retryOn": ["connect-failure", "5xx"], "backoff": { "base": "1ms" } },
            "weighted": { "llm_agents/0": 2 }, "flag": true, "s": "no", "e": "", "n": null,
            "list": [{ "a": 1, "b": [2, 3] }], "empty": {}, "none": [] } });
        let y = to_yaml(&v);
        assert_eq!(p(&y).unwrap(), v, "{y}");
    }
}
