//! Raw URL pieces for matching recorded requests: the suite classifies an exchange as a
//! presence operation from its path and query, and compares the request the core builds with
//! the recorded one, using these helpers.
//!
//! Nothing is decoded by [`split_url`] on purpose: recorders differ in how they encoded the
//! same request, so the comparison decides itself where to apply [`percent_decode`].

/// Splits a URL into its raw path and raw `key=value` query pairs (nothing decoded).
///
/// ```
/// let (path, query) = presence_recorded::split_url("https://h/v2/presence/sub-key/k?a=1&b&c=x%20y");
/// assert_eq!(path, "/v2/presence/sub-key/k");
/// assert_eq!(query, [("a".into(), "1".into()), ("b".into(), String::new()), ("c".into(), "x%20y".into())]);
/// ```
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (before, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let path = match before.split_once("://") {
        Some((_, rest)) => rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/"),
        None => before,
    };
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (path.to_owned(), pairs)
}

/// Percent-decodes `text` (lossy UTF-8); `+` is left alone.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
