//! JSON paths into a scenario: `deployment.regions.us-east-1.instances`,
//! with `["…"]` for keys holding dots (`llm.models["gpt-4.1"].latency`)
//! `[N]` for array elements (`failures.events[0].at`), and `$` for the
//! whole scenario (what `compare --variants` varies).

use crate::error::Error;
use serde_json::{Map, Value};
use std::fmt;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A parsed JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses `text`; says what is wrong with a malformed path.
    pub fn parse(text: &str) -> Result<JsonPath, Error> {
        let mut steps = Vec::new();
        let mut rest = text.trim();
        if rest == "$" {
            // The whole document: a variant replaces the scenario.
            return Ok(JsonPath {
                text: "$".into(),
                steps,
            });
        }
        if rest.is_empty() {
            return Err(Error::Input(
                "the path is empty; write one like deployment.loadBalancing.strategy".into(),
            ));
        }
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
                let inner = &r[..end];
                rest = &r[end + 1..];
                if let Some(q) = inner.strip_prefix('"') {
                    let key = q
                        .strip_suffix('"')
                        .ok_or_else(|| format!("`{text}`: unterminated quoted key"))?;
                    steps.push(Step::Key(key.to_string()));
                } else {
                    let i = inner.parse().map_err(|_| {
                        format!("`{text}`: `[{inner}]` is neither an index nor a quoted key (write [0] or [\"key.with.dots\"])")
                    })?;
                    steps.push(Step::Index(i));
                }
                expect_key = false;
            } else if let Some(r) = rest.strip_prefix('.') {
                if expect_key {
                    return Err(Error::Input(format!(
                        "`{text}`: an empty key (two dots, or a leading dot)"
                    )));
                }
                rest = r;
                expect_key = true;
            } else {
                if !expect_key {
                    return Err(Error::Input(format!("`{text}`: a key must follow a `.`")));
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                steps.push(Step::Key(rest[..end].to_string()));
                rest = &rest[end..];
                expect_key = false;
            }
        }
        if expect_key {
            return Err(Error::Input(format!("`{text}`: the path ends with a `.`")));
        }
        Ok(JsonPath {
            text: text.trim().to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether setting this path overwrites the value at `other` (the same
    /// path, or one inside this one's value).
    pub fn covers(&self, other: &JsonPath) -> bool {
        other.steps.starts_with(&self.steps)
    }

    /// Sets the value at this path in `root`, creating missing objects on
    /// the way (the scenario reader then refuses a key that does not
    /// belong). Fails when the path crosses a value that is not an object
    /// or array, indexes past an array's end, or would create an entry on
    /// the way through one of the maps of named entries in `named`
    /// (`deployment.regions`: a misspelt region must not become a new
    /// one; a whole new entry can still be given as the value).
    pub fn set(&self, root: &mut Value, value: Value, named: &[&str]) -> Result<(), Error> {
        if self.steps.is_empty() {
            *root = value;
            return Ok(());
        }
        let mut at = root;
        let mut walked = String::new();
        for (i, step) in self.steps.iter().enumerate() {
            let last = i + 1 == self.steps.len();
            at = match step {
                Step::Key(k) => {
                    if at.is_null() {
                        *at = Value::Object(Map::new());
                    }
                    let Value::Object(map) = at else {
                        return Err(Error::Input(format!(
                            "`{walked}` is {}, not an object, so it has no key `{k}`",
                            kind(at)
                        )));
                    };
                    if last {
                        map.insert(k.clone(), value);
                        return Ok(());
                    }
                    if !map.contains_key(k) && named.contains(&walked.as_str()) {
                        let have: Vec<&str> = map.keys().map(String::as_str).collect();
                        let near = sim_core::nearest(k, have.iter().copied())
                            .map_or_else(String::new, |n| format!(" (did you mean `{n}`?)"));
                        return Err(Error::Input(format!(
                            "`{walked}` has no `{k}`{near}; it has {}. An axis sets values of existing entries; to add an entry, give the whole entry as the value of `{walked}.{k}`",
                            if have.is_empty() { "none".to_string() } else { have.join(", ") }
                        )));
                    }
                    map.entry(k.clone()).or_insert(Value::Null)
                }
                Step::Index(n) => {
                    let Value::Array(items) = at else {
                        return Err(Error::Input(format!(
                            "`{walked}` is {}, not an array",
                            kind(at)
                        )));
                    };
                    let len = items.len();
                    let slot = items.get_mut(*n).ok_or_else(|| {
                        format!("`{walked}` has {len} element(s); index {n} is past its end")
                    })?;
                    if last {
                        *slot = value;
                        return Ok(());
                    }
                    slot
                }
            };
            match step {
                Step::Key(k) if walked.is_empty() => walked.push_str(k),
                Step::Key(k) => {
                    walked.push('.');
                    walked.push_str(k);
                }
                Step::Index(n) => walked.push_str(&format!("[{n}]")),
            }
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_dotted_quoted_and_indexed_steps() {
        let p = JsonPath::parse(r#"llm.models["gpt-4.1"].latency"#).unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::Key("llm".into()),
                Step::Key("models".into()),
                Step::Key("gpt-4.1".into()),
                Step::Key("latency".into())
            ]
        );
        let p = JsonPath::parse("failures.events[1].at").unwrap();
        assert_eq!(p.steps[2], Step::Index(1));
        for bad in ["", "a..b", ".a", "a.", "a[x]", "a[\"b]", "a[0]b"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn sets_existing_and_missing_keys() {
        let mut v = json!({ "deployment": { "regions": { "r": { "instances": 2 } } }, "failures": { "events": [ { "at": "1m" } ] } });
        JsonPath::parse("deployment.regions.r.instances")
            .unwrap()
            .set(&mut v, json!(5), &[])
            .unwrap();
        JsonPath::parse("deployment.loadBalancing.strategy")
            .unwrap()
            .set(&mut v, json!("first"), &[])
            .unwrap();
        JsonPath::parse("failures.events[0].at")
            .unwrap()
            .set(&mut v, json!("2m"), &[])
            .unwrap();
        assert_eq!(v["deployment"]["regions"]["r"]["instances"], 5);
        assert_eq!(v["deployment"]["loadBalancing"]["strategy"], "first");
        assert_eq!(v["failures"]["events"][0]["at"], "2m");
        let e = JsonPath::parse("failures.events[3].at")
            .unwrap()
            .set(&mut v, json!(1), &[])
            .unwrap_err();
        assert!(e.to_string().contains("index 3 is past its end"), "{e}");
        let e = JsonPath::parse("deployment.regions.r.instances.x")
            .unwrap()
            .set(&mut v, json!(1), &[])
            .unwrap_err();
        assert!(e.to_string().contains("is a number, not an object"), "{e}");
        // A misspelt region is not a new region...
        let named = ["deployment.regions"];
        let e = JsonPath::parse("deployment.regions.q.instances")
            .unwrap()
            .set(&mut v, json!(3), &named)
            .unwrap_err();
        assert!(
            e.to_string().contains("`deployment.regions` has no `q`")
                && e.to_string().contains("(did you mean `r`?); it has r"),
            "{e}"
        );
        // ...but a whole entry may be given, and existing ones edited.
        JsonPath::parse("deployment.regions.q")
            .unwrap()
            .set(&mut v, json!({ "instances": 1 }), &named)
            .unwrap();
        JsonPath::parse("deployment.regions.r.instanceType")
            .unwrap()
            .set(&mut v, json!("t"), &named)
            .unwrap();
    }
}
