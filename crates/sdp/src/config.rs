//! Parse options: leniency and resource bounds.

/// How forgiving the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ParseMode {
    /// Default, for remote descriptions: malformed known attributes, empty lines and
    /// out-of-order lines become [`crate::Warning`]s; the attribute is kept verbatim.
    #[default]
    Lenient,
    /// Every deviation from RFC 8866 line order and every malformed known attribute is an
    /// error.
    Strict,
}

/// Options for [`crate::SessionDescription::parse_with`].
///
/// The bounds turn a hostile description (10 MB, 10 000 `m=` lines) into an error before it
/// turns into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Lenient or strict.
    pub mode: ParseMode,
    /// Longest input accepted, in bytes. Default 1 MiB.
    pub max_input_len: usize,
    /// Most lines accepted. Default 20 000.
    pub max_lines: usize,
    /// Most `m=` sections accepted. Default 512.
    pub max_media_sections: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            mode: ParseMode::Lenient,
            max_input_len: 1 << 20,
            max_lines: 20_000,
            max_media_sections: 512,
        }
    }
}

impl ParseOptions {
    /// Default bounds, strict mode.
    pub fn strict() -> Self {
        Self {
            mode: ParseMode::Strict,
            ..Self::default()
        }
    }

    /// Default bounds, lenient mode (same as `default()`).
    pub fn lenient() -> Self {
        Self::default()
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: ParseMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the input length bound in bytes.
    pub fn with_max_input_len(mut self, max: usize) -> Self {
        self.max_input_len = max;
        self
    }

    /// Sets the line count bound.
    pub fn with_max_lines(mut self, max: usize) -> Self {
        self.max_lines = max;
        self
    }

    /// Sets the `m=` section count bound.
    pub fn with_max_media_sections(mut self, max: usize) -> Self {
        self.max_media_sections = max;
        self
    }
}
