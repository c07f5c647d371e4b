//! serde's type vocabulary in the user's words: `expected u32` becomes
//! `expected a whole number from 0 to 4294967295`, `expected f64` becomes
//! `expected a number`, `a map` becomes `an object`, `a sequence` a list.
//!
//! serde reports a value of the wrong type as `invalid type: FOUND,
//! expected EXPECTED` and a value out of a type's range as `invalid value:
//! FOUND, expected EXPECTED`; [`rewrite`] turns both into `expected
//! EXPECTED, found FOUND` in JSON's terms and leaves other messages alone.

/// The message with serde's type names in JSON's terms, or `None` when it
/// is not a type or range message.
pub(crate) fn rewrite(raw: &str) -> Option<String> {
    let rest = raw
        .strip_prefix("invalid type: ")
        .or_else(|| raw.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    Some(format!(
        "expected {}, found {}",
        expected_words(expected),
        found_words(found)
    ))
}

/// What serde expected, as a user would say it.
fn expected_words(e: &str) -> String {
    let e = e.trim();
    let words = match e {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "u128" | "usize" => "a whole number ≥ 0",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "string" | "a borrowed string" | "a character" | "char" => "a string",
        "a map" | "map" => "an object",
        "a sequence" | "sequence" => "a list",
        "unit" => "null",
        _ if e.starts_with("struct ") => "an object",
        _ if e.starts_with("a tuple") || e.starts_with("tuple") => "a list",
        _ if e.starts_with("an array of length") => return e.replacen("an array", "a list", 1),
        _ if e.starts_with("option") => "a value or null",
        _ => return e.to_string(),
    };
    words.to_string()
}

/// What serde found, as the JSON it was: `string "x"` is `"x"`, a number
/// is itself, `map` is an object.
fn found_words(f: &str) -> String {
    let f = f.trim();
    let ticked = |s: &str| s.trim_start_matches('`').trim_end_matches('`').to_string();
    if let Some(s) = f.strip_prefix("string ") {
        return s.to_string();
    }
    for p in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = f.strip_prefix(p) {
            return ticked(v);
        }
    }
    match f {
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        "unit value" | "null" | "unit" => "null".into(),
        "Option value" => "a value".into(),
        _ => f.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn numbers_in_words() {
        assert_eq!(
            rewrite("invalid type: string \"three\", expected u32").as_deref(),
            Some("expected a whole number from 0 to 4294967295, found \"three\"")
        );
        assert_eq!(
            rewrite("invalid value: integer `-1`, expected u64").as_deref(),
            Some("expected a whole number ≥ 0, found -1")
        );
        assert_eq!(
            rewrite("invalid type: floating point `1.5`, expected u32").as_deref(),
            Some("expected a whole number from 0 to 4294967295, found 1.5")
        );
        assert_eq!(
            rewrite("invalid type: string \"x\", expected f64").as_deref(),
            Some("expected a number, found \"x\"")
        );
        assert_eq!(
            rewrite("invalid type: boolean `true`, expected i64").as_deref(),
            Some("expected a whole number, found true")
        );
    }

    #[test]
    fn shapes_in_words() {
        assert_eq!(
            rewrite("invalid type: map, expected a sequence").as_deref(),
            Some("expected a list, found an object")
        );
        assert_eq!(
            rewrite("invalid type: sequence, expected a map").as_deref(),
            Some("expected an object, found a list")
        );
        assert_eq!(
            rewrite("invalid type: integer `5`, expected a string").as_deref(),
            Some("expected a string, found 5")
        );
        assert_eq!(
            rewrite("invalid type: string \"yes\", expected a boolean").as_deref(),
            Some("expected true or false, found \"yes\"")
        );
        assert_eq!(
            rewrite("invalid type: null, expected struct Run").as_deref(),
            Some("expected an object, found null")
        );
    }

    #[test]
    fn leaves_other_messages_alone() {
        assert_eq!(rewrite("missing field `name`"), None);
        assert_eq!(rewrite("unknown field `x`, expected `y`"), None);
        // A custom message keeps its own words.
        assert_eq!(
            rewrite("invalid type: string \"x\", expected a duration such as \"30s\"").as_deref(),
            Some("expected a duration such as \"30s\", found \"x\"")
        );
    }
}
