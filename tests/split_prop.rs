//! Property test: the splitter finds exactly the records a plain
//! `serde_json` parse finds, for every framing; and the compact-text
//! shortcut of the content id agrees with minifying.

use armhunt::input::split::{is_compact, minify_into, split_json};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Strings with quotes, backslashes, brackets, braces, newlines and
        // non-ASCII: everything a structural scanner can trip on.
        "[a-z\"\\\\{}\\[\\],:\n\té大 ]{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z\"{}]{1,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A record: always an object, never one that looks like an envelope.
fn record() -> impl Strategy<Value = Value> {
    prop::collection::vec(("k[a-z]{0,5}", value()), 1..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Lines,
    Array,
    PrettyArray,
    Concatenated,
    Records,
    PrettyValue,
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Lines),
        Just(Framing::Array),
        Just(Framing::PrettyArray),
        Just(Framing::Concatenated),
        Just(Framing::Records),
        Just(Framing::PrettyValue),
    ]
}

fn render(recs: &[Value], f: Framing) -> String {
    let arr = Value::Array(recs.to_vec());
    match f {
        Framing::Lines => recs.iter().map(|r| format!("{r}\n")).collect(),
        Framing::Array => arr.to_string(),
        Framing::PrettyArray => serde_json::to_string_pretty(&arr).unwrap(),
        Framing::Concatenated => recs
            .iter()
            .map(|r| serde_json::to_string_pretty(r).unwrap())
            .collect(),
        Framing::Records => format!("{{\"records\":{arr}}}"),
        Framing::PrettyValue => {
            let mut m = Map::new();
            m.insert("nextLink".into(), Value::Null);
            m.insert("value".into(), arr);
            serde_json::to_string_pretty(&Value::Object(m)).unwrap()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn splitter_matches_serde(recs in prop::collection::vec(record(), 1..6), f in framing(), bom in any::<bool>()) {
        let mut text = render(&recs, f);
        if bom {
            text.insert(0, '\u{feff}');
        }
        let b = text.as_bytes();
        let split = split_json(b);
        prop_assert!(split.problems.is_empty(), "{:?}", split.problems);
        let found: Vec<Value> = split
            .records
            .iter()
            .map(|s| serde_json::from_slice(&b[s.offset..s.offset + s.len]).unwrap())
            .collect();
        prop_assert_eq!(found, recs);
    }

    #[test]
    fn truncation_never_invents_records(recs in prop::collection::vec(record(), 1..6), f in framing(), cut in 0.0f64..1.0) {
        let text = render(&recs, f);
        let b = &text.as_bytes()[..(text.len() as f64 * cut) as usize];
        let split = split_json(b);
        // Every record the splitter returns is a complete record of the
        // input, in order, or (JSON Lines) a cut line that will not parse.
        let mut i = 0;
        for s in &split.records {
            let raw = &b[s.offset..s.offset + s.len];
            if let Ok(v) = serde_json::from_slice::<Value>(raw) {
                while i < recs.len() && recs[i] != v {
                    i += 1;
                }
                prop_assert!(i < recs.len(), "invented record {}", v);
                i += 1;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// The content id's shortcut: a text `is_compact` calls compact is its
    /// own minified form, and a pretty-printed record never passes for one.
    #[test]
    fn compact_texts_need_no_minifying(r in record()) {
        let compact = r.to_string();
        let pretty = serde_json::to_string_pretty(&r).unwrap();
        for t in [&compact, &pretty] {
            let mut m = Vec::new();
            minify_into(t.as_bytes(), &mut m);
            prop_assert_eq!(&m, compact.as_bytes());
            if is_compact(t.as_bytes()) {
                prop_assert_eq!(t, &compact);
            }
        }
    }
}
