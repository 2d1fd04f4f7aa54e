//! A minimal YAML tree built from `yaml-rust2` parser events, and the header layouts that YAML
//! cassettes use.
//!
//! The tree is built from parser events so that every scalar keeps its tag: the readers need it
//! (a vcrpy body tagged `!!binary` is base64, not text).

use yaml_rust2::parser::{Event, Parser};

use crate::error::{ReadError, err};

/// A YAML node that keeps scalar tags (`!!binary`, `!!python/unicode`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Yaml {
    Scalar { value: String, tag: Option<String> },
    Seq(Vec<Yaml>),
    Map(Vec<(Yaml, Yaml)>),
}

impl Yaml {
    pub(crate) fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Self::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn str(&self) -> Option<&str> {
        match self {
            Self::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub(crate) fn tag(&self) -> Option<&str> {
        match self {
            Self::Scalar { tag, .. } => tag.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Yaml> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }
}

/// Parses the first document of a YAML stream into a [`Yaml`] tree.
pub(crate) fn parse_yaml(text: &str) -> Result<Yaml, ReadError> {
    enum Open {
        Seq(Vec<Yaml>),
        Map(Vec<(Yaml, Yaml)>, Option<Yaml>),
    }
    fn push(stack: &mut [Open], root: &mut Option<Yaml>, node: Yaml) {
        match stack.last_mut() {
            Some(Open::Seq(items)) => items.push(node),
            Some(Open::Map(pairs, key)) => match key.take() {
                Some(k) => pairs.push((k, node)),
                None => *key = Some(node),
            },
            None => {
                if root.is_none() {
                    *root = Some(node);
                }
            }
        }
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|e| ReadError(format!("invalid YAML: {e}")))?;
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, _, _, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                push(&mut stack, &mut root, Yaml::Scalar { value, tag });
            }
            Event::Alias(_) => push(
                &mut stack,
                &mut root,
                Yaml::Scalar {
                    value: String::new(),
                    tag: None,
                },
            ),
            Event::SequenceStart(..) => stack.push(Open::Seq(Vec::new())),
            Event::MappingStart(..) => stack.push(Open::Map(Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop() {
                    Some(Open::Seq(items)) => Yaml::Seq(items),
                    Some(Open::Map(pairs, _)) => Yaml::Map(pairs),
                    None => return err("invalid YAML: unbalanced collection end"),
                };
                push(&mut stack, &mut root, node);
            }
            Event::DocumentEnd if root.is_some() => break,
            _ => {}
        }
    }
    root.ok_or_else(|| ReadError("empty YAML document".to_owned()))
}

/// Headers as a map of name → value or list of values, or (tornado vcrpy) a list of
/// `!!python/tuple [name, [values]]`.
pub(crate) fn yaml_headers(node: Option<&Yaml>) -> Vec<(String, String)> {
    fn values(name: &str, node: &Yaml, out: &mut Vec<(String, String)>) {
        match node {
            Yaml::Scalar { value, .. } => out.push((name.to_owned(), value.clone())),
            Yaml::Seq(items) => {
                for item in items {
                    values(name, item, out);
                }
            }
            Yaml::Map(_) => {}
        }
    }
    let mut out = Vec::new();
    match node {
        Some(Yaml::Map(pairs)) => {
            for (name, value) in pairs {
                if let Some(name) = name.str() {
                    values(name, value, &mut out);
                }
            }
        }
        Some(Yaml::Seq(tuples)) => {
            for tuple in tuples {
                if let Yaml::Seq(parts) = tuple {
                    if let (Some(name), Some(value)) =
                        (parts.first().and_then(Yaml::str), parts.get(1))
                    {
                        values(name, value, &mut out);
                    }
                }
            }
        }
        _ => {}
    }
    out
}
