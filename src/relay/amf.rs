//! AMF0 decoding for what RTMP peers send us (commands and data messages), with limits.
//!
//! `rml_amf0`'s decoder recurses once per nested object or array with no depth limit: a 60 KB
//! `connect` of nested objects overflows a 2 MiB thread stack and aborts the whole process
//! (checked with rml_amf0 0.3, debug and release), which any stranger could send the ingest
//! before showing a key. And `rml_rtmp`'s command parser takes its first three values with
//! `Vec::drain(..3)`, which panics on a command with fewer values (FFmpeg's `onFCPublish` has
//! only its name). This decoder returns an error for anything malformed or too deep and never
//! panics; values are `rml_amf0`'s, so its (sound) encoder stays in use for what we send.

use std::collections::HashMap;

use rml_rtmp::rml_amf0::Amf0Value;

/// Nesting deeper than this is refused (real peers nest one or two levels).
const MAX_DEPTH: usize = 16;
/// Values (at any depth) in one message, at most.
const MAX_VALUES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AmfError {
    #[error("AMF0 value cut short")]
    Truncated,
    #[error("unknown AMF0 type marker {0:#04x}")]
    Marker(u8),
    #[error("AMF0 values nested too deeply or too many")]
    TooMuch,
    #[error("AMF0 string is not UTF-8")]
    Utf8,
}

/// Decode every value in `data`.
pub(crate) fn decode(data: &[u8]) -> Result<Vec<Amf0Value>, AmfError> {
    let mut d = Decoder { data, pos: 0, values: 0 };
    let mut out = Vec::new();
    while d.pos < d.data.len() {
        out.push(d.value(0)?);
    }
    Ok(out)
}

/// A command message (`name`, transaction id, command object, arguments), tolerant of what
/// real servers omit: FFmpeg's `onFCPublish` is only a name, so a missing transaction id reads
/// as 0 and a missing command object as `Null`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub(crate) name: String,
    pub(crate) transaction: f64,
    pub(crate) object: Amf0Value,
    pub(crate) args: Vec<Amf0Value>,
}

impl Command {
    pub(crate) fn decode(data: &[u8]) -> Result<Command, AmfError> {
        let mut it = decode(data)?.into_iter();
        let name = match it.next() {
            Some(Amf0Value::Utf8String(s)) => s,
            Some(_) | None => return Err(AmfError::Truncated),
        };
        let transaction = match it.next() {
            Some(Amf0Value::Number(n)) => n,
            _ => 0.0,
        };
        let object = it.next().unwrap_or(Amf0Value::Null);
        Ok(Command { name, transaction, object, args: it.collect() })
    }

    /// The first object among the arguments (an `onStatus` / `_error` info object).
    pub(crate) fn info(&self) -> Option<&HashMap<String, Amf0Value>> {
        self.args.iter().chain(std::iter::once(&self.object)).find_map(|v| match v {
            Amf0Value::Object(m) => Some(m),
            _ => None,
        })
    }

    /// A string field of [`info`](Self::info).
    pub(crate) fn info_str(&self, field: &str) -> Option<&str> {
        match self.info()?.get(field)? {
            Amf0Value::Utf8String(s) => Some(s),
            _ => None,
        }
    }
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    values: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], AmfError> {
        let end = self.pos.checked_add(n).ok_or(AmfError::Truncated)?;
        let s = self.data.get(self.pos..end).ok_or(AmfError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, AmfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, AmfError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AmfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, len: usize) -> Result<String, AmfError> {
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| AmfError::Utf8)
    }

    fn value(&mut self, depth: usize) -> Result<Amf0Value, AmfError> {
        self.values += 1;
        if depth > MAX_DEPTH || self.values > MAX_VALUES {
            return Err(AmfError::TooMuch);
        }
        Ok(match self.u8()? {
            0x00 => {
                let b = self.take(8)?;
                Amf0Value::Number(f64::from_be_bytes(b.try_into().map_err(|_| AmfError::Truncated)?))
            }
            0x01 => Amf0Value::Boolean(self.u8()? != 0),
            0x02 => {
                let len = self.u16()? as usize;
                Amf0Value::Utf8String(self.string(len)?)
            }
            0x03 => Amf0Value::Object(self.properties(depth)?),
            0x05 => Amf0Value::Null,
            0x06 => Amf0Value::Undefined,
            // ECMA array: a count (not to be trusted), then properties like an object.
            0x08 => {
                self.u32()?;
                Amf0Value::Object(self.properties(depth)?)
            }
            0x0a => {
                let count = self.u32()? as usize;
                let mut values = Vec::new();
                for _ in 0..count {
                    if self.pos >= self.data.len() {
                        return Err(AmfError::Truncated);
                    }
                    values.push(self.value(depth + 1)?);
                }
                Amf0Value::StrictArray(values)
            }
            // Date: milliseconds and a time zone; kept as the number.
            0x0b => {
                let b = self.take(8)?;
                let ms = f64::from_be_bytes(b.try_into().map_err(|_| AmfError::Truncated)?);
                self.take(2)?;
                Amf0Value::Number(ms)
            }
            0x0c => {
                let len = self.u32()? as usize;
                Amf0Value::Utf8String(self.string(len)?)
            }
            m => return Err(AmfError::Marker(m)),
        })
    }

    /// Properties up to the object end marker (an empty name followed by 0x09).
    fn properties(&mut self, depth: usize) -> Result<HashMap<String, Amf0Value>, AmfError> {
        let mut props = HashMap::new();
        loop {
            let len = self.u16()? as usize;
            if len == 0 {
                match self.u8()? {
                    0x09 => return Ok(props),
                    // Some encoders write an empty name with a value; skip the value.
                    _ => {
                        self.pos -= 1;
                        self.value(depth + 1)?;
                        continue;
                    }
                }
            }
            let name = self.string(len)?;
            let value = self.value(depth + 1)?;
            props.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::rml_amf0;

    fn obj(pairs: &[(&str, Amf0Value)]) -> Amf0Value {
        Amf0Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn decodes_what_rml_encodes() {
        let values = vec![
            Amf0Value::Utf8String("_result".into()),
            Amf0Value::Number(1.0),
            obj(&[
                ("fmsVer", Amf0Value::Utf8String("FMS/3,0,1,123".into())),
                ("x", Amf0Value::Boolean(true)),
            ]),
            obj(&[
                ("nested", obj(&[("a", Amf0Value::Null)])),
                ("arr", Amf0Value::StrictArray(vec![Amf0Value::Number(2.0)])),
            ]),
            Amf0Value::Undefined,
        ];
        let bytes = rml_amf0::serialize(&values).unwrap();
        assert_eq!(decode(&bytes).unwrap(), values);
    }

    #[test]
    fn a_command_with_only_its_name_is_fine() {
        // What FFmpeg's RTMP server answers to FCPublish: the one value that made rml_rtmp's
        // `drain(..3)` panic.
        let bytes = rml_amf0::serialize(&vec![Amf0Value::Utf8String("onFCPublish".into())]).unwrap();
        let c = Command::decode(&bytes).unwrap();
        assert_eq!((c.name.as_str(), c.transaction, &c.object), ("onFCPublish", 0.0, &Amf0Value::Null));
        assert!(c.args.is_empty() && c.info().is_none());
    }

    #[test]
    fn status_info_is_found() {
        let values = vec![
            Amf0Value::Utf8String("onStatus".into()),
            Amf0Value::Number(0.0),
            Amf0Value::Null,
            obj(&[("code", Amf0Value::Utf8String("NetStream.Publish.Start".into()))]),
        ];
        let c = Command::decode(&rml_amf0::serialize(&values).unwrap()).unwrap();
        assert_eq!(c.info_str("code"), Some("NetStream.Publish.Start"));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_crash() {
        // 64 KiB of nested objects: rml_amf0 recurses until the stack overflows.
        let mut deep = Vec::new();
        for _ in 0..16_000 {
            deep.extend_from_slice(&[0x03, 0x00, 0x01, b'a']);
        }
        assert_eq!(decode(&deep), Err(AmfError::TooMuch));
        // Nested strict arrays, a huge announced count, cut strings, bad markers.
        let mut arrays = Vec::new();
        for _ in 0..1000 {
            arrays.extend_from_slice(&[0x0a, 0, 0, 0, 1]);
        }
        assert_eq!(decode(&arrays), Err(AmfError::TooMuch));
        assert_eq!(decode(&[0x0a, 0xff, 0xff, 0xff, 0xff]), Err(AmfError::Truncated));
        assert_eq!(decode(&[0x02, 0xff, 0xff, b'a']), Err(AmfError::Truncated));
        assert_eq!(decode(&[0x0c, 0xff, 0xff, 0xff, 0xff]), Err(AmfError::Truncated));
        assert_eq!(decode(&[0x11]), Err(AmfError::Marker(0x11)));
        assert_eq!(decode(&[0x00, 1, 2]), Err(AmfError::Truncated));
        assert_eq!(decode(&[0x02, 0x00, 0x02, 0xff, 0xfe]), Err(AmfError::Utf8));
        assert!(Command::decode(&[0x05]).is_err());
        let mut many = vec![0x0a, 0, 0, 0x20, 0];
        many.extend(std::iter::repeat_n(0x05, 0x2000));
        assert_eq!(decode(&many), Err(AmfError::TooMuch));
    }
}
