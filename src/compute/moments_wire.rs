//! [`Moments`] in serde's data model (feature `serde`): the six stored parts, so that
//! partial results computed in other processes or on other machines travel as text
//! or bytes and [`merge`](Moments::merge) into exactly what one process would get.
//!
//! Floats are written as numbers; in human-readable formats (JSON, TOML, YAML) the
//! non-finite ones, which JSON has no number for, as the strings `"NaN"`, `"inf"` and
//! `"-inf"`. Reading accepts either form, and refuses parts no set of values has
//! (see [`Moments::from_parts`]).

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::moments::Moments;

/// A float that survives JSON: non-finite values as strings in human-readable formats.
#[derive(Clone, Copy)]
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() || !serializer.is_human_readable() {
            serializer.serialize_f64(x)
        } else if x.is_nan() {
            serializer.serialize_str("NaN")
        } else if x > 0.0 {
            serializer.serialize_str("inf")
        } else {
            serializer.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FloatVisitor;
        impl Visitor<'_> for FloatVisitor {
            type Value = Float;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"a number, or one of "NaN", "inf", "-inf""#)
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Float, E> {
                Ok(Float(x))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Float, E> {
                Ok(Float(x as f64))
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Float, E> {
                Ok(Float(x as f64))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Float, E> {
                match s {
                    "NaN" | "nan" => Ok(Float(f64::NAN)),
                    "inf" | "Infinity" => Ok(Float(f64::INFINITY)),
                    "-inf" | "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        deserializer.deserialize_any(FloatVisitor)
    }
}

/// The stored parts, in the order [`Moments::from_parts`] takes them.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Moments", deny_unknown_fields)]
struct Wire {
    count: u64,
    sum: Float,
    mean: Float,
    m2: Float,
    min: Float,
    max: Float,
}

impl Serialize for Moments {
    /// Writes `count`, `sum`, `mean`, `m2`, `min` and `max`.
    ///
    /// ```
    /// use npmap::Moments;
    /// let m = Moments::from_slice(&[1.0f64, 2.0, 4.0, 5.0]);
    /// let text = serde_json::to_string(&m).unwrap();
    /// assert_eq!(text, r#"{"count":4,"sum":12.0,"mean":3.0,"m2":10.0,"min":1.0,"max":5.0}"#);
    /// let empty = serde_json::to_string(&Moments::new()).unwrap();
    /// assert_eq!(empty, r#"{"count":0,"sum":0.0,"mean":"NaN","m2":"NaN","min":"NaN","max":"NaN"}"#);
    /// ```
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (count, sum, mean, m2, min, max) = self.parts();
        Wire {
            count,
            sum: Float(sum),
            mean: Float(mean),
            m2: Float(m2),
            min: Float(min),
            max: Float(max),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Moments {
    /// Reads what [`Serialize`] writes; parts no set of values has are an error.
    ///
    /// ```
    /// use npmap::Moments;
    /// let a = Moments::from_slice(&[1.0f64, 2.0]);
    /// let b: Moments = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    /// assert_eq!(a, b);
    /// let bad = r#"{"count":2,"sum":3.0,"mean":1.5,"m2":-1.0,"min":1.0,"max":2.0}"#;
    /// assert!(serde_json::from_str::<Moments>(bad).unwrap_err().to_string().contains("m2"));
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(deserializer)?;
        Moments::from_parts(w.count, w.sum.0, w.mean.0, w.m2.0, w.min.0, w.max.0)
            .map_err(de::Error::custom)
    }
}
