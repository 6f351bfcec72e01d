//! PHP-style request parameters: decodes `application/x-www-form-urlencoded`
//! bytes the way PHP's `parse_str` / `$_GET` / `$_POST` do (bracket keys,
//! `[]` appends, name mangling, last-wins), parses JSON-object bodies, and
//! merges body over query. Every form-decoded leaf is a `Value::String`.
//! It does not read HTTP requests, handle multipart bodies, or know which
//! parameters a REST method accepts.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Hard ceiling on bracket nesting, whatever [`Limits::max_depth`] says, so
/// that building, converting and dropping the tree can never exhaust the stack.
const HARD_MAX_DEPTH: usize = 512;

/// Limits applied while decoding a form body or query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of bracket groups in one key (PHP `max_input_nesting_level`).
    /// Values above 512 are treated as 512.
    pub max_depth: usize,
    /// Maximum number of `key=value` pairs in one input (PHP `max_input_vars`).
    pub max_vars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_vars: 10_000 }
    }
}

/// Why request parameters could not be decoded. The Display text is meant
/// to be shown to API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A decoded key or value (or a JSON body) is not valid UTF-8.
    #[error("request parameters are not valid UTF-8")]
    InvalidUtf8,
    /// A parameter name has more nested `[...]` groups than allowed.
    #[error("request parameter nesting level exceeded")]
    TooDeep,
    /// The request carries more parameters than allowed.
    #[error("too many request parameters")]
    TooManyVars,
    /// A JSON body parsed, but is not a JSON object.
    #[error("request body must be a JSON object")]
    NotAnObject,
    /// A JSON body could not be parsed; carries `serde_json`'s message.
    #[error("malformed JSON in request body: {0}")]
    MalformedJson(String),
}

/// Decodes a urlencoded `input` into `into`, PHP style.
///
/// Pairs are separated by `&` (empty pieces are skipped); `+` is a space and
/// `%XX` is a byte in both keys and values (invalid `%` sequences are kept
/// literally, as PHP does). Keys may use brackets: `a[b][]=x`. Containers whose
/// keys are exactly `"0".."n-1"` in order become JSON arrays. Existing entries of
/// `into` take part as if they had been decoded earlier (later pairs overwrite
/// or extend them). On error `into` is left unchanged.
///
/// # Errors
///
/// [`ParamError::InvalidUtf8`] when a decoded key or value is not UTF-8,
/// [`ParamError::TooDeep`] when a key nests deeper than `limits.max_depth`,
/// [`ParamError::TooManyVars`] when there are more than `limits.max_vars` pairs.
pub fn decode_form(input: &[u8], into: &mut Map<String, Value>, limits: &Limits) -> Result<(), ParamError> {
    let max_depth = limits.max_depth.min(HARD_MAX_DEPTH);
    let mut top = Container::default();
    let mut count: usize = 0;

    for piece in input.split(|&b| b == b'&') {
        if piece.is_empty() {
            continue;
        }
        count += 1;
        if count > limits.max_vars {
            return Err(ParamError::TooManyVars);
        }
        // No `=` means an empty value.
        let mut halves = piece.splitn(2, |&b| b == b'=');
        let raw_key = halves.next().unwrap_or_default();
        let raw_value = halves.next().unwrap_or_default();
        let key = String::from_utf8(url_decode(raw_key)).map_err(|_| ParamError::InvalidUtf8)?;
        let value = String::from_utf8(url_decode(raw_value)).map_err(|_| ParamError::InvalidUtf8)?;
        if let Some(parsed) = parse_key(&key, max_depth)? {
            assign(&mut top, into, parsed, value);
        }
    }

    for (key, node) in top.entries {
        into.insert(key, node.into_value());
    }
    Ok(())
}

/// Merges `top` over `base` at the top level only: for a key present in both,
/// `top`'s value replaces `base`'s wholesale (the body wins over the query).
pub fn merge_over(base: &mut Map<String, Value>, top: Map<String, Value>) {
    for (key, value) in top {
        base.insert(key, value);
    }
}

/// Parses a JSON request body, which must be a JSON object.
///
/// # Errors
///
/// [`ParamError::InvalidUtf8`], [`ParamError::MalformedJson`] (including
/// nesting beyond `serde_json`'s recursion limit of 128) or
/// [`ParamError::NotAnObject`].
pub fn json_body(input: &[u8]) -> Result<Map<String, Value>, ParamError> {
    let text = std::str::from_utf8(input).map_err(|_| ParamError::InvalidUtf8)?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ParamError::NotAnObject),
        Err(e) => Err(ParamError::MalformedJson(e.to_string())),
    }
}

/// PHP's `urldecode`: `+` is a space, `%XX` a byte; a `%` not followed by two
/// hex digits stays as it is.
fn url_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => out.push(b' '),
            b'%' => match (tail.first().and_then(|&h| hex_value(h)), tail.get(1).and_then(|&l| hex_value(l))) {
                (Some(h), Some(l)) => {
                    out.push((h << 4) | l);
                    rest = tail.get(2..).unwrap_or_default();
                }
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A key split the PHP way: a (mangled) top-level name and its bracket
/// segments; `None` is an empty `[]` (append).
#[derive(Debug, PartialEq, Eq)]
struct ParsedKey {
    name: String,
    segments: Vec<Option<String>>,
}

/// Splits a decoded key as `php_register_variable_ex` does. Returns `Ok(None)`
/// when PHP would ignore the variable (empty name, or a name that mangling
/// turned into a `__Host-` / `__Secure-` prefix).
fn parse_key(key: &str, max_depth: usize) -> Result<Option<ParsedKey>, ParamError> {
    // PHP handles the name as a C string: it ends at the first NUL byte.
    let key = key.split('\0').next().unwrap_or_default();
    // Leading spaces of the name are ignored.
    let key = key.trim_start_matches(' ');

    let (head, mut rest) = match key.split_once('[') {
        Some((head, inner)) => (head, Some(inner)),
        None => (key, None),
    };
    // Spaces and dots are not allowed in a PHP variable name.
    let mut name: String = head.chars().map(|c| if c == ' ' || c == '.' { '_' } else { c }).collect();
    for prefix in ["__Host-", "__Secure-"] {
        if name.starts_with(prefix) && !key.starts_with(prefix) {
            return Ok(None);
        }
    }
    if name.is_empty() {
        return Ok(None);
    }
    let mut segments = Vec::new();

    // Each turn, `inner` is the text just after a `[`.
    while let Some(inner) = rest {
        if segments.len() >= max_depth {
            return Err(ParamError::TooDeep);
        }
        // One leading whitespace byte (C `isspace`) before `]` still means "append".
        let probe = inner.strip_prefix([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']).unwrap_or(inner);
        let after_close = if let Some(after) = probe.strip_prefix(']') {
            segments.push(None);
            after
        } else if let Some((index, after)) = inner.split_once(']') {
            // The index keeps its leading whitespace; `probe` only differs
            // from `inner` by that one byte, so the first `]` is the same.
            segments.push(Some(index.to_owned()));
            after
        } else {
            // No closing bracket. For the first group PHP un-terminates the
            // name: the `[` becomes `_`, and spaces, dots and `[` in the rest
            // become `_` too. Deeper, the unterminated group is ignored.
            if segments.is_empty() {
                name.push('_');
                name.extend(inner.chars().map(|c| match c {
                    ' ' | '.' | '[' => '_',
                    other => other,
                }));
            }
            break;
        };
        // Anything after `]` other than another `[` ends the key.
        rest = after_close.strip_prefix('[');
    }

    Ok(Some(ParsedKey { name, segments }))
}

/// Stores one decoded pair under `top`, pulling an existing top-level value
/// from `existing` the first time a bracket path needs it.
fn assign(top: &mut Container, existing: &Map<String, Value>, key: ParsedKey, value: String) {
    let ParsedKey { name, segments } = key;
    let Some((last, path)) = segments.split_last() else {
        top.set_leaf(Some(name), Value::String(value));
        return;
    };
    if !top.index.contains_key(&name) {
        if let Some(old) = existing.get(&name) {
            top.push_new(name.clone(), Node::from_value(old.clone()));
        }
    }
    let Some(mut current) = top.child_container(Some(name)) else {
        return;
    };
    for segment in path {
        match current.child_container(segment.clone()) {
            Some(next) => current = next,
            // PHP drops the variable when `[]` cannot take another index.
            None => return,
        }
    }
    current.set_leaf(last.clone(), Value::String(value));
}

/// An entry of a PHP array under construction.
#[derive(Debug)]
enum Node {
    Leaf(Value),
    Tree(Container),
}

impl Node {
    fn from_value(value: Value) -> Node {
        match value {
            Value::Array(items) => {
                let mut c = Container::default();
                for (i, item) in items.into_iter().enumerate() {
                    c.push_new(i.to_string(), Node::from_value(item));
                }
                Node::Tree(c)
            }
            Value::Object(map) => {
                let mut c = Container::default();
                for (k, v) in map {
                    c.set_node(k, Node::from_value(v));
                }
                Node::Tree(c)
            }
            leaf => Node::Leaf(leaf),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Node::Leaf(v) => v,
            Node::Tree(c) => c.into_value(),
        }
    }
}

/// An ordered PHP array: string keys (integer keys in their canonical decimal
/// form) in insertion order, plus PHP's "next free integer index".
#[derive(Debug, Default)]
struct Container {
    entries: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    /// `None` until an integer key is stored (then `[]` starts at 0).
    next_free: Option<i64>,
}

impl Container {
    /// Appends a key known not to be present.
    fn push_new(&mut self, key: String, node: Node) {
        self.note_key(&key);
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, node));
    }

    fn set_node(&mut self, key: String, node: Node) {
        match self.index.get(&key).copied() {
            Some(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = node;
                }
            }
            None => self.push_new(key, node),
        }
    }

    /// Keeps PHP's next free index up to date for integer-like keys.
    fn note_key(&mut self, key: &str) {
        if let Some(n) = php_int_key(key) {
            let next = n.saturating_add(1);
            let raise = match self.next_free {
                Some(current) => next > current,
                None => true,
            };
            if raise {
                self.next_free = Some(next);
            }
        }
    }

    /// Resolves `key` (`None` = append) to the position of its entry,
    /// creating the entry with `fresh` when absent. `None` when an append is
    /// impossible because the next index is already taken (PHP's limit).
    fn slot(&mut self, key: Option<String>, fresh: impl FnOnce() -> Node) -> Option<usize> {
        let key = if let Some(k) = key {
            k
        } else {
            let k = self.next_free.unwrap_or(0).to_string();
            if self.index.contains_key(&k) {
                return None;
            }
            k
        };
        if let Some(&i) = self.index.get(&key) {
            return Some(i);
        }
        let i = self.entries.len();
        self.push_new(key, fresh());
        Some(i)
    }

    fn set_leaf(&mut self, key: Option<String>, value: Value) {
        if let Some(i) = self.slot(key, || Node::Leaf(Value::Null)) {
            if let Some(slot) = self.entries.get_mut(i) {
                slot.1 = Node::Leaf(value);
            }
        }
    }

    /// The container at `key`, created if absent and replacing a scalar
    /// that is in the way (PHP does the same).
    fn child_container(&mut self, key: Option<String>) -> Option<&mut Container> {
        let i = self.slot(key, || Node::Tree(Container::default()))?;
        let node = &mut self.entries.get_mut(i)?.1;
        if let Node::Leaf(_) = node {
            *node = Node::Tree(Container::default());
        }
        match node {
            Node::Tree(c) => Some(c),
            Node::Leaf(_) => None,
        }
    }

    /// A JSON array when the keys are exactly "0".."n-1" in order, else an object.
    fn into_value(self) -> Value {
        let is_list = self.entries.iter().enumerate().all(|(i, (k, _))| is_index(k, i));
        if is_list {
            Value::Array(self.entries.into_iter().map(|(_, n)| n.into_value()).collect())
        } else {
            Value::Object(self.entries.into_iter().map(|(k, n)| (k, n.into_value())).collect())
        }
    }
}

/// The integer a PHP array key string stands for, if any: canonical decimal
/// within `i64` (no `+`, no leading zeros, no `-0`).
fn php_int_key(key: &str) -> Option<i64> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let first = *digits.as_bytes().first()?;
    if !first.is_ascii_digit() || (first == b'0' && key.len() > 1) {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<i64>().ok()
}

/// Whether `key` is the canonical decimal form of `i`.
fn is_index(key: &str, i: usize) -> bool {
    let bytes = key.as_bytes();
    match bytes.first() {
        Some(b'0') => bytes.len() == 1 && i == 0,
        Some(b) if b.is_ascii_digit() => bytes.iter().all(u8::is_ascii_digit) && key.parse::<usize>().ok() == Some(i),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::fmt::Write as _;

    fn decode(input: &str) -> Value {
        let mut map = Map::new();
        decode_form(input.as_bytes(), &mut map, &Limits::default()).expect("decodes");
        Value::Object(map)
    }

    fn decode_err(input: &[u8], limits: &Limits) -> ParamError {
        let mut map = Map::new();
        decode_form(input, &mut map, limits).expect_err("must fail")
    }

    #[test]
    fn plain_pairs() {
        assert_eq!(decode("a=1&b=two"), json!({"a":"1","b":"two"}));
        assert_eq!(decode("a=1&a=2"), json!({"a":"2"}));
        assert_eq!(decode("&&a=1&&"), json!({"a":"1"}));
        assert_eq!(decode("flag"), json!({"flag":""}));
        assert_eq!(decode("a=b=c"), json!({"a":"b=c"}));
        assert_eq!(decode(""), json!({}));
    }

    #[test]
    fn url_decoding() {
        assert_eq!(decode("q=a+b%20c%2Bd%26e%3Df"), json!({"q":"a b c+d&e=f"}));
        assert_eq!(decode("t=%D0%9F%D1%80%D0%B8"), json!({"t":"При"}));
        // Broken percent sequences stay literal.
        assert_eq!(decode("%zz=%&b=%4&c=%4g"), json!({"%zz":"%","b":"%4","c":"%4g"}));
        assert_eq!(decode("v=%00x"), json!({"v":"\u{0}x"}));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let l = Limits::default();
        assert_eq!(decode_err(b"a=%FF", &l), ParamError::InvalidUtf8);
        assert_eq!(decode_err(b"%C3=1", &l), ParamError::InvalidUtf8);
        assert_eq!(decode_err(b"a=\xff", &l), ParamError::InvalidUtf8);
    }

    #[test]
    fn bracket_examples() {
        assert_eq!(decode("FIELDS[NAME]=x"), json!({"FIELDS":{"NAME":"x"}}));
        assert_eq!(decode("select[]=ID&select[]=NAME"), json!({"select":["ID","NAME"]}));
        assert_eq!(decode("a[0][b]=1"), json!({"a":[{"b":"1"}]}));
        assert_eq!(decode("fields[UF_X][]=1"), json!({"fields":{"UF_X":["1"]}}));
        assert_eq!(decode("filter%5B%3EID%5D=5"), json!({"filter":{">ID":"5"}}));
        assert_eq!(
            decode("FIELDS[PHONE][0][VALUE]=1&FIELDS[PHONE][0][VALUE_TYPE]=WORK"),
            json!({"FIELDS":{"PHONE":[{"VALUE":"1","VALUE_TYPE":"WORK"}]}})
        );
        assert_eq!(decode("a[][b]=1&a[][b]=2"), json!({"a":[{"b":"1"},{"b":"2"}]}));
    }

    #[test]
    fn name_mangling() {
        assert_eq!(decode("a[b=1"), json!({"a_b":"1"}));
        assert_eq!(decode("a[b.c d[e=1"), json!({"a_b_c_d_e":"1"}));
        assert_eq!(decode("a.b=1"), json!({"a_b":"1"}));
        assert_eq!(decode("a+b=1"), json!({"a_b":"1"}));
        assert_eq!(decode("a.b[c.d]=1"), json!({"a_b":{"c.d":"1"}}));
        assert_eq!(decode("a+[b]=1"), json!({"a_":{"b":"1"}}));
        assert_eq!(decode("a]b[c=1"), json!({"a]b_c":"1"}));
        // Leading spaces of the name are dropped.
        assert_eq!(decode("++a=1"), json!({"a":"1"}));
        // The name ends at a NUL byte.
        assert_eq!(decode("a%00b=1"), json!({"a":"1"}));
        // ...before brackets are parsed, so this group is unterminated.
        assert_eq!(decode("a[x%00y]=1"), json!({"a_x":"1"}));
        assert_eq!(decode("a[x]%00[y]=1"), json!({"a":{"x":"1"}}));
    }

    #[test]
    fn empty_names_are_skipped() {
        assert_eq!(decode("=1&[a]=2&+=3&[]=4&b=5"), json!({"b":"5"}));
        assert_eq!(decode("%00a=1"), json!({}));
        // Names that only mangling turned into cookie-prefix names are dropped.
        assert_eq!(decode("_.Host-x=1&..Secure-y=2&__Host-z=3"), json!({"__Host-z":"3"}));
        assert_eq!(decode("__Host[x=1"), json!({"__Host_x":"1"}));
    }

    #[test]
    fn odd_brackets() {
        // Text after `]` that is not `[` ends the key.
        assert_eq!(decode("a[b]c=1"), json!({"a":{"b":"1"}}));
        assert_eq!(decode("a[b]c[d]=1"), json!({"a":{"b":"1"}}));
        assert_eq!(decode("a[b]]=1"), json!({"a":{"b":"1"}}));
        // An unterminated deeper group is ignored.
        assert_eq!(decode("a[b][c=1"), json!({"a":{"b":"1"}}));
        assert_eq!(decode("a[][c=1"), json!({"a":["1"]}));
        // `[` inside a group is literal.
        assert_eq!(decode("a[b[c]=1"), json!({"a":{"b[c":"1"}}));
        // One leading space before `]` still appends; other spaces are kept.
        assert_eq!(decode("a[+]=1&a[]=2"), json!({"a":["1","2"]}));
        assert_eq!(decode("a[+x]=1"), json!({"a":{" x":"1"}}));
        assert_eq!(decode("a[++]=1"), json!({"a":{"  ":"1"}}));
        assert_eq!(decode("a[]"), json!({"a":[""]}));
        assert_eq!(decode("a[%09]=1&a[%0D]=2"), json!({"a":["1","2"]}));
        assert_eq!(decode("a[%09x]=1"), json!({"a":{"\tx":"1"}}));
    }

    #[test]
    fn append_indices_follow_php() {
        assert_eq!(decode("a[5]=x&a[]=y"), json!({"a":{"5":"x","6":"y"}}));
        assert_eq!(decode("a[]=x&a[]=y&a[5]=z&a[]=w"), json!({"a":{"0":"x","1":"y","5":"z","6":"w"}}));
        assert_eq!(decode("a[x]=1&a[]=2"), json!({"a":{"x":"1","0":"2"}}));
        // PHP >= 8.3: the next index after a negative key is key + 1.
        assert_eq!(decode("a[-5]=x&a[]=y"), json!({"a":{"-5":"x","-4":"y"}}));
        // Non-canonical numbers are string keys and do not move the index.
        assert_eq!(decode("a[05]=x&a[]=y"), json!({"a":{"05":"x","0":"y"}}));
        assert_eq!(decode("a[-0]=x&a[%2B1]=y&a[]=z"), json!({"a":{"-0":"x","+1":"y","0":"z"}}));
        // No index after i64::MAX: the append is dropped.
        assert_eq!(decode("a[9223372036854775807]=x&a[]=y&a[][b]=z"), json!({"a":{"9223372036854775807":"x"}}));
        // Out of range numbers are string keys.
        assert_eq!(decode("a[9223372036854775808]=x&a[]=y"), json!({"a":{"9223372036854775808":"x","0":"y"}}));
    }

    #[test]
    fn list_normalisation() {
        assert_eq!(decode("a[0]=x&a[1]=y"), json!({"a":["x","y"]}));
        assert_eq!(decode("a[1]=x&a[0]=y"), json!({"a":{"1":"x","0":"y"}}));
        assert_eq!(decode("a[1]=x"), json!({"a":{"1":"x"}}));
        assert_eq!(decode("a[00]=x"), json!({"a":{"00":"x"}}));
        assert_eq!(decode("a[0]=x&a[0]=y"), json!({"a":["y"]}));
        // Top level stays an object.
        assert_eq!(decode("0=x&1=y"), json!({"0":"x","1":"y"}));
    }

    #[test]
    fn containers_replace_scalars_and_back() {
        assert_eq!(decode("a=1&a[b]=2"), json!({"a":{"b":"2"}}));
        assert_eq!(decode("a[b]=1&a=2"), json!({"a":"2"}));
        assert_eq!(decode("a[b]=1&a[b][c]=2"), json!({"a":{"b":{"c":"2"}}}));
        // Overwriting keeps the key's first position.
        assert_eq!(decode("a=1&b=2&a=3"), json!({"a":"3","b":"2"}));
    }

    #[test]
    fn depth_limit() {
        let ok = format!("a{}=1", "[x]".repeat(64));
        let mut map = Map::new();
        assert!(decode_form(ok.as_bytes(), &mut map, &Limits::default()).is_ok());
        let deep = format!("a{}=1", "[x]".repeat(65));
        assert_eq!(decode_err(deep.as_bytes(), &Limits::default()), ParamError::TooDeep);

        let tight = Limits { max_depth: 1, ..Limits::default() };
        assert_eq!(decode_err(b"a[b][c]=1", &tight), ParamError::TooDeep);
        // PHP counts the unterminated group too.
        assert_eq!(decode_err(b"a[b][c=1", &tight), ParamError::TooDeep);
        let zero = Limits { max_depth: 0, ..Limits::default() };
        assert_eq!(decode_err(b"a[]=1", &zero), ParamError::TooDeep);
        let mut map = Map::new();
        assert!(decode_form(b"a=1", &mut map, &zero).is_ok());

        // The hard cap applies even with a huge configured limit.
        let huge = Limits { max_depth: usize::MAX, ..Limits::default() };
        let very_deep = format!("a{}=1", "[]".repeat(HARD_MAX_DEPTH + 1));
        assert_eq!(decode_err(very_deep.as_bytes(), &huge), ParamError::TooDeep);
        let at_cap = format!("a{}=1", "[]".repeat(HARD_MAX_DEPTH));
        let mut map = Map::new();
        assert!(decode_form(at_cap.as_bytes(), &mut map, &huge).is_ok());
    }

    #[test]
    fn var_limit() {
        let l = Limits { max_vars: 3, ..Limits::default() };
        let mut map = Map::new();
        assert!(decode_form(b"a=1&&b=2&c=3&", &mut map, &l).is_ok());
        assert_eq!(decode_err(b"a=1&b=2&c=3&d=4", &l), ParamError::TooManyVars);
        let many = vec!["x[]=1"; 10_001].join("&");
        assert_eq!(decode_err(many.as_bytes(), &Limits::default()), ParamError::TooManyVars);
        let enough = vec!["x[]=1"; 10_000].join("&");
        let mut map = Map::new();
        assert!(decode_form(enough.as_bytes(), &mut map, &Limits::default()).is_ok());
        assert_eq!(map.get("x").and_then(Value::as_array).map(Vec::len), Some(10_000));
    }

    #[test]
    fn decodes_into_existing_map() {
        let mut map = Map::new();
        map.insert("a".into(), json!(["x"]));
        map.insert("b".into(), json!({"k":"v"}));
        map.insert("c".into(), json!("keep"));
        decode_form(b"a[]=y&b[z]=w&d=new&b[k]=v2", &mut map, &Limits::default()).expect("ok");
        assert_eq!(Value::Object(map), json!({"a":["x","y"],"b":{"k":"v2","z":"w"},"c":"keep","d":"new"}));
    }

    #[test]
    fn error_leaves_map_unchanged() {
        let mut map = Map::new();
        map.insert("a".into(), json!("1"));
        let err = decode_form(b"a=2&b=3&c=%FF", &mut map, &Limits::default());
        assert_eq!(err, Err(ParamError::InvalidUtf8));
        assert_eq!(Value::Object(map), json!({"a":"1"}));
    }

    #[test]
    fn merge_over_top_level() {
        let mut base = Map::new();
        decode_form(b"a[x]=1&b=2&c=3", &mut base, &Limits::default()).expect("ok");
        let mut top = Map::new();
        decode_form(b"a[y]=9&c=4&d=5", &mut top, &Limits::default()).expect("ok");
        merge_over(&mut base, top);
        assert_eq!(Value::Object(base), json!({"a":{"y":"9"},"b":"2","c":"4","d":"5"}));
    }

    #[test]
    fn json_bodies() {
        assert_eq!(
            json_body(br#"{"ID":1,"FIELDS":{"NAME":"x"}}"#).map(Value::Object),
            Ok(json!({"ID":1,"FIELDS":{"NAME":"x"}}))
        );
        assert_eq!(json_body(b"[1,2]"), Err(ParamError::NotAnObject));
        assert_eq!(json_body(b"\"s\""), Err(ParamError::NotAnObject));
        assert_eq!(json_body(b"null"), Err(ParamError::NotAnObject));
        assert_eq!(json_body(b"{\"a\":\"\xff\"}"), Err(ParamError::InvalidUtf8));
        match json_body(b"{\"a\":") {
            Err(ParamError::MalformedJson(msg)) => assert!(msg.contains("EOF"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
        match json_body(b"") {
            Err(ParamError::MalformedJson(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
        let deep = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert!(matches!(json_body(deep.as_bytes()), Err(ParamError::MalformedJson(_))));
    }

    #[test]
    fn error_texts() {
        assert_eq!(ParamError::InvalidUtf8.to_string(), "request parameters are not valid UTF-8");
        assert_eq!(ParamError::TooDeep.to_string(), "request parameter nesting level exceeded");
        assert_eq!(ParamError::TooManyVars.to_string(), "too many request parameters");
        assert_eq!(ParamError::NotAnObject.to_string(), "request body must be a JSON object");
        assert_eq!(ParamError::MalformedJson("x".into()).to_string(), "malformed JSON in request body: x");
    }

    #[test]
    fn key_helpers() {
        assert_eq!(php_int_key("0"), Some(0));
        assert_eq!(php_int_key("-7"), Some(-7));
        assert_eq!(php_int_key("-9223372036854775808"), Some(i64::MIN));
        for k in ["", "-", "-0", "00", "01", "+1", " 1", "1 ", "1.0", "9223372036854775808"] {
            assert_eq!(php_int_key(k), None, "{k:?}");
        }
        assert!(is_index("0", 0) && is_index("10", 10));
        assert!(!is_index("00", 0) && !is_index("+1", 1) && !is_index("1", 0) && !is_index("", 0));
    }

    // ---- property tests ----

    /// A generated nested parameter tree: a non-empty map of leaves and maps.
    #[derive(Debug, Clone)]
    enum Tree {
        Leaf(String),
        Map(Vec<(String, Tree)>),
    }

    fn dedup(entries: Vec<(String, Tree)>) -> Vec<(String, Tree)> {
        let mut seen = std::collections::HashSet::new();
        entries.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect()
    }

    /// Keys allowed inside brackets: non-empty, not one whitespace byte, no `]`, no NUL.
    fn inner_key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[0-3]",
            2 => "[a-zA-Z0-9 ._\\[&=+%-]{1,5}",
            1 => "[^\\]\u{0}]{1,4}",
        ]
        .prop_filter("lone whitespace means append", |k| {
            !matches!(k.as_str(), " " | "\t" | "\n" | "\u{b}" | "\u{c}" | "\r")
        })
    }

    fn tree() -> impl Strategy<Value = Tree> {
        let leaf = any::<String>().prop_map(Tree::Leaf);
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop::collection::vec((inner_key(), inner), 1..5).prop_map(|e| Tree::Map(dedup(e)))
        })
    }

    /// Top-level names that PHP keeps unchanged.
    fn top_map() -> impl Strategy<Value = Vec<(String, Tree)>> {
        prop::collection::vec(("[a-zA-Z0-9_][a-zA-Z0-9_\\]-]{0,5}", tree()), 0..5).prop_map(dedup)
    }

    fn pct(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }

    fn is_list(entries: &[(String, Tree)]) -> bool {
        entries.iter().enumerate().all(|(i, (k, _))| *k == i.to_string())
    }

    /// PHP-style encoder: `top[k1][k2]=v`, brackets literal or percent-encoded,
    /// lists of leaves optionally as `[]`.
    fn encode(prefix: &str, tree: &Tree, pct_brackets: bool, use_append: bool, out: &mut Vec<String>) {
        match tree {
            Tree::Leaf(v) => {
                let mut pair = format!("{prefix}=");
                pct(v, &mut pair);
                out.push(pair);
            }
            Tree::Map(entries) => {
                let (open, close) = if pct_brackets { ("%5B", "%5D") } else { ("[", "]") };
                let append = use_append && is_list(entries);
                for (k, child) in entries {
                    let mut p = format!("{prefix}{open}");
                    if !(append && matches!(child, Tree::Leaf(_))) {
                        pct(k, &mut p);
                    }
                    p.push_str(close);
                    encode(&p, child, pct_brackets, use_append, out);
                }
            }
        }
    }

    fn expected(tree: &Tree) -> Value {
        match tree {
            Tree::Leaf(v) => Value::String(v.clone()),
            Tree::Map(entries) if is_list(entries) => Value::Array(entries.iter().map(|(_, t)| expected(t)).collect()),
            Tree::Map(entries) => Value::Object(entries.iter().map(|(k, t)| (k.clone(), expected(t))).collect()),
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(input in prop::collection::vec(any::<u8>(), 0..200),
                                 depth in 0usize..8, vars in 0usize..20) {
            let mut map = Map::new();
            let _ = decode_form(&input, &mut map, &Limits { max_depth: depth, max_vars: vars });
            let _ = decode_form(&input, &mut map, &Limits::default());
            let _ = json_body(&input);
        }

        #[test]
        fn never_panics_on_bracket_soup(input in "[ab0-9\\[\\] .+&=%5BDF-]{0,80}") {
            let mut map = Map::new();
            if decode_form(input.as_bytes(), &mut map, &Limits::default()).is_ok() {
                for v in map.values() {
                    prop_assert!(all_leaves_are_strings(v));
                }
            }
        }

        #[test]
        fn bracket_encoding_round_trips(entries in top_map(), pct_brackets in any::<bool>(),
                                        use_append in any::<bool>()) {
            let mut pairs = Vec::new();
            for (k, t) in &entries {
                encode(k, t, pct_brackets, use_append, &mut pairs);
            }
            let input = pairs.join("&");
            let mut map = Map::new();
            decode_form(input.as_bytes(), &mut map, &Limits::default()).map_err(|e| {
                TestCaseError::fail(format!("{e} for {input}"))
            })?;
            let want: Map<String, Value> =
                entries.iter().map(|(k, t)| (k.clone(), expected(t))).collect();
            prop_assert_eq!(Value::Object(map), Value::Object(want), "input: {}", input);
        }
    }

    fn all_leaves_are_strings(v: &Value) -> bool {
        match v {
            Value::String(_) => true,
            Value::Array(a) => a.iter().all(all_leaves_are_strings),
            Value::Object(o) => o.values().all(all_leaves_are_strings),
            _ => false,
        }
    }
}
