//! Tagged configuration blocks must be JSON objects.
//!
//! serde reads an internally tagged enum (`{"policy": "hpa", ...}`,
//! `{"dist": "gamma", ...}`) from whatever `deserialize_any` offers, so a
//! list in place of the object (`["gamma", 2, "80ms"]`) would be read field
//! by field in order. A scenario must not be read that leniently: the
//! blocks derive their reading under `#[serde(remote = "Self")]` and pass
//! the input through [`ObjectOnly`], which asks for a map.

use serde::de::{Deserializer, Visitor};

/// A deserializer that reads only objects: everything is asked for as a
/// map.
pub struct ObjectOnly<D>(pub D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
