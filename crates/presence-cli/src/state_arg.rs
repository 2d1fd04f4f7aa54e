//! `--state` values: a JSON object, checked before anything is sent.

use serde_json::Value;

use crate::failure::Failure;

/// Parses a `--state` value, which must be a JSON object.
pub(crate) fn state_object(text: &str) -> Result<Value, Failure> {
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(Failure::usage(
            "--state must be a JSON object, like {\"mood\":\"happy\"}",
        )),
        Err(e) => Err(Failure::usage(format!("--state is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_must_be_a_json_object() {
        assert!(state_object(r#"{"a":1}"#).is_ok());
        let not_json = state_object("{a:1}").unwrap_err();
        assert_eq!(not_json.code, 2);
        assert!(
            not_json.message.contains("not valid JSON"),
            "{}",
            not_json.message
        );
        let not_object = state_object("[1]").unwrap_err();
        assert!(not_object.message.contains("JSON object"));
    }
}
