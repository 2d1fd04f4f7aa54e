//! Field access shared by the plist recorders (JSZVCR, BeKindRewind): nested keys, the status
//! code and `NSHTTPURLResponse.allHeaderFields`.

pub(crate) fn plist_get<'a>(value: &'a plist::Value, keys: &[&str]) -> Option<&'a plist::Value> {
    keys.iter()
        .try_fold(value, |v, key| v.as_dictionary().and_then(|d| d.get(key)))
}

pub(crate) fn plist_status(value: Option<&plist::Value>) -> Option<u16> {
    value
        .and_then(plist::Value::as_unsigned_integer)
        .and_then(|s| u16::try_from(s).ok())
}

pub(crate) fn plist_headers(value: Option<&plist::Value>) -> Vec<(String, String)> {
    value
        .and_then(plist::Value::as_dictionary)
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| v.as_string().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}
