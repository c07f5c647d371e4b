//! Strict JSON for scenario files.
//!
//! serde_json on its own is lenient in three ways that would let a typo
//! change an answer silently, so scenario text goes through two steps:
//!
//! 1. [`parse`] reads the text into a [`Value`], refusing duplicate keys in
//!    any object (serde_json keeps the last one) and naming the path of the
//!    duplicate.
//! 2. [`Strict`] deserializes the typed scenario from that value. Unlike
//!    serde_json, it refuses an array where an object is expected
//!    (`"run": [42, "30m"]` would otherwise fill `run`'s fields in order),
//!    and it reports a number, bool or array where a named value is expected
//!    with the allowed names instead of a syntax error.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde_json::{Error, Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Where a duplicate key was found: the object's path and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    pub(crate) path: String,
    pub(crate) key: String,
}

/// Parses JSON text into a value, refusing duplicate keys. A duplicate is
/// reported through `Err(Ok(..))` with its path; a syntax error through
/// `Err(Err(..))` with serde_json's line and column.
pub(crate) fn parse(text: &str) -> Result<Value, Result<Duplicate, Error>> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = ValueSeed {
        path: &mut Vec::new(),
        duplicate: &found,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, found.into_inner()) {
        (_, Some(d)) => Err(Ok(d)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(Err(e)),
    }
}

/// One step of a path inside a JSON document.
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

struct ValueSeed<'p> {
    path: &'p mut Vec<Seg>,
    duplicate: &'p RefCell<Option<Duplicate>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.push(Seg::Index(out.len()));
            let next = seq.next_element_seed(ValueSeed {
                path: self.path,
                duplicate: self.duplicate,
            });
            self.path.pop();
            match next? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(Duplicate {
                    path: render(self.path),
                    key: key.clone(),
                });
                return Err(A::Error::custom(format!("duplicate key `{key}`")));
            }
            self.path.push(Seg::Key(key.clone()));
            let value = map.next_value_seed(ValueSeed {
                path: self.path,
                duplicate: self.duplicate,
            });
            self.path.pop();
            out.insert(key, value?);
        }
        Ok(Value::Object(out))
    }
}

/// Deserializes typed values from a [`Value`] strictly: objects only where
/// objects are expected, named values only as strings (or one-key objects
/// for data-carrying variants).
///
/// The tagged blocks (`dist`, `policy`) read their input as a map
/// ([`strategies::ObjectOnly`]), so a list never stands in for them either.
pub(crate) struct Strict<'a>(pub(crate) &'a Value);

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// How a found value reads in a message: `an array`, `the number 3`.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! forward {
    ($($method:ident),*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.0.$method(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(MapAcc {
                iter: m.iter(),
                value: None,
            }),
            Value::Array(a) => visitor.visit_seq(SeqAcc { iter: a.iter() }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(Error::custom(format!(
                "expected an object (with keys {}), found {}",
                quoted(fields),
                describe(other)
            ))),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(Error::custom(format!(
                "expected an object, found {}",
                describe(other)
            ))),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(a) => visitor.visit_seq(SeqAcc { iter: a.iter() }),
            other => Err(Error::custom(format!(
                "expected an array, found {}",
                describe(other)
            ))),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(m) if m.len() == 1 => {
                let (variant, value) = m.iter().next().expect("one entry");
                visitor.visit_enum(EnumAcc { variant, value })
            }
            other => Err(Error::custom(format!(
                "expected one of {}, found {}",
                quoted(variants),
                describe(other)
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_identifier
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }
}

struct MapAcc<'de> {
    iter: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> MapAccess<'de> for MapAcc<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(BorrowedStrDeserializer::<Error>::new(k))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(Error::custom("a value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct SeqAcc<'de> {
    iter: std::slice::Iter<'de, Value>,
}

impl<'de> SeqAccess<'de> for SeqAcc<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(v) => seed.deserialize(Strict(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct EnumAcc<'de> {
    variant: &'de str,
    value: &'de Value,
}

impl<'de> EnumAccess<'de> for EnumAcc<'de> {
    type Error = Error;
    type Variant = Strict<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Strict<'de>), Error> {
        let v = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.variant))?;
        Ok((v, Strict(self.value)))
    }
}

impl<'de> VariantAccess<'de> for Strict<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(Error::invalid_type(unexpected(other), &"a plain name")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }
}

impl de::Expected for Strict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Run {
        seed: u64,
        duration: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        RoundRobin,
        LeastConnections,
    }

    fn strict<'a, T: Deserialize<'a>>(v: &'a Value) -> Result<T, String> {
        T::deserialize(Strict(v)).map_err(|e| e.to_string())
    }

    #[test]
    fn refuses_duplicate_keys_with_their_path() {
        let e = parse(r#"{"llm": {"models": {"m": 1, "n": 2, "m": 3}}}"#).unwrap_err();
        assert_eq!(
            e.unwrap(),
            Duplicate {
                path: "llm.models".into(),
                key: "m".into()
            }
        );
        let e = parse(r#"{"a": [{"x": 1}, {"y": 1, "y": 2}]}"#).unwrap_err();
        assert_eq!(e.unwrap().path, "a[1]");
        assert!(parse(r#"{"a": 1,}"#).unwrap_err().is_err(), "syntax");
        assert!(parse(r#"{"a": 1} x"#).unwrap_err().is_err(), "trailing");
    }

    #[test]
    fn keeps_key_order() {
        let v = parse(r#"{"z": 1, "a": 2}"#).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["z", "a"]);
    }

    #[test]
    fn refuses_an_array_for_an_object() {
        let v = parse(r#"[42, "30m"]"#).unwrap();
        let e = strict::<Run>(&v).unwrap_err();
        assert!(e.contains("expected an object"), "{e}");
        assert!(e.contains("found an array"), "{e}");
        let v = parse(r#"{"seed": 42, "duration": "30m"}"#).unwrap();
        assert_eq!(
            strict::<Run>(&v).unwrap(),
            Run {
                seed: 42,
                duration: "30m".into()
            }
        );
    }

    #[test]
    fn names_the_allowed_values_for_a_number_in_place_of_a_name() {
        let v = parse("3").unwrap();
        let e = strict::<Kind>(&v).unwrap_err();
        assert_eq!(
            e,
            "expected one of `round-robin`, `least-connections`, found the number 3"
        );
        let v = parse(r#""least-connections""#).unwrap();
        assert_eq!(strict::<Kind>(&v).unwrap(), Kind::LeastConnections);
        let v = parse(r#""fastest""#).unwrap();
        assert!(strict::<Kind>(&v).unwrap_err().contains("unknown variant"));
    }

    #[test]
    fn reads_lists_options_and_numbers() {
        let v = parse(r#"{"a": [1, 2], "b": null, "c": 2.5}"#).unwrap();
        #[derive(Deserialize)]
        struct T {
            a: Vec<u32>,
            b: Option<u32>,
            c: f64,
        }
        let t: T = strict(&v).unwrap();
        assert_eq!((t.a, t.b, t.c), (vec![1, 2], None, 2.5));
        let v = parse(r#"{"a": {"x": 1}, "b": 1, "c": 1}"#).unwrap();
        assert!(strict::<T>(&v).err().unwrap().contains("expected an array"));
    }
}
