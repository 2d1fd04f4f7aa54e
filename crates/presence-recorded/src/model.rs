//! What the readers produce: recorder-neutral [`Recording`]s of [`Exchange`]s.
//!
//! Every recorder format is flattened into these plain values (method, URL, status, headers,
//! body bytes) so that the suite never has to know which tool wrote a file.

/// The recorder format of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Ruby VCR YAML (`http_interactions`).
    RubyVcr,
    /// vcrpy YAML (`interactions`, `request.uri`, `response.status.code`).
    VcrpyYaml,
    /// vcrpy JSON.
    VcrpyJson,
    /// go-vcr YAML (`interactions`, `request.url`, `response.code`).
    GoVcr,
    /// sepia: `<hash>.headers` JSON plus the `<hash>` body file.
    Sepia,
    /// YAHTTPVCR JSON event list (ObjC).
    YahttpVcr,
    /// JSZVCR XML plist: array of `{request, response, data}` (ObjC).
    JszVcr,
    /// BeKindRewind XML plist: `scenes[].frames[]` (ObjC testing).
    BeKindRewind,
}

impl Format {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::RubyVcr => "ruby-vcr-yaml",
            Self::VcrpyYaml => "vcrpy-yaml",
            Self::VcrpyJson => "vcrpy-json",
            Self::GoVcr => "go-vcr-yaml",
            Self::Sepia => "sepia",
            Self::YahttpVcr => "yahttpvcr-json",
            Self::JszVcr => "jszvcr-plist",
            Self::BeKindRewind => "bekindrewind-plist",
        }
    }
}

/// A recorded reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Header name/value pairs as recorded (lists flattened, order kept).
    pub headers: Vec<(String, String)>,
    /// Body bytes as stored by the recorder (usually already inflated).
    pub body: Vec<u8>,
}

/// One recorded request and, when one was recorded, its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Position of the exchange in its file (0-based, over all exchanges).
    pub ordinal: usize,
    /// HTTP method, upper case.
    pub method: String,
    /// Full request URL as sent (the most complete URL the recorder kept).
    pub url: String,
    /// The reply, or `None` when none was recorded (request cancelled or failed).
    pub response: Option<Response>,
}

/// The exchanges of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The recorder format.
    pub format: Format,
    /// Every exchange in file order.
    pub exchanges: Vec<Exchange>,
}
