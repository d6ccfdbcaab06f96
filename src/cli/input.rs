//! Arguments shared by commands that read data: template, params, inputs.

use std::path::Path;
use std::sync::Arc;

use moodlec::params::{self, ParamValues};
use moodlec::record::{self, InputFormat, ReadOptions, Records};
use moodlec::template::Template;

use super::error::Error;
use super::load;

/// Data input formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One JSON object per line.
    Ndjson,
    /// A JSON array of objects.
    Json,
    /// CSV with a header row.
    Csv,
    /// Tab-separated values with a header row (CSV with --delimiter tab).
    Tsv,
}

/// `--delimiter`: `,` `;` `|` or a tab (`tab` or `\t`).
fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "|" | "pipe" => Ok(b'|'),
        "\t" | "\\t" | "tab" => Ok(b'\t'),
        other => Err(format!(
            "{other:?} is not a CSV delimiter moodlec reads: give ',', ';', '|' or tab"
        )),
    }
}

/// `-t`, `--set`, `--input-format`, `--allow-unknown`.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Template: a built-in name, a template in ./templates/, or a path to a .moodle file.
    #[arg(short = 't', long = "template", value_name = "TEMPLATE")]
    pub template: String,
    /// Set an endpoint-level param, e.g. --set roleid=teacher.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = params::parse_assignment)]
    pub set: Vec<(String, String)>,
    /// Data format, when the file extension does not say (.ndjson/.jsonl, .json, .csv, .tsv).
    #[arg(long, value_enum)]
    pub input_format: Option<FormatArg>,
    /// CSV delimiter: `,` `;` `|` or `tab`. Default: tab for .tsv files, else
    /// told from the header line (`;` or tab when they outnumber commas there).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Report source keys that are not template fields as warnings, not errors.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Warnings fail like errors: the record is invalid and the exit code 1 (for CI).
    #[arg(long)]
    pub strict: bool,
    /// Largest record accepted, in bytes; a larger one is that record's error.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_record_bytes: usize,
}

impl DataArgs {
    /// Data arguments for reading `fetch`'s input records with `template`.
    pub fn for_input(template: &str, input_format: Option<FormatArg>) -> Self {
        DataArgs {
            template: template.to_owned(),
            set: Vec::new(),
            input_format,
            delimiter: None,
            allow_unknown: false,
            strict: false,
            max_record_bytes: 1 << 20,
        }
    }

    /// The template and its params.
    ///
    /// # Errors
    /// No such template, it does not compile, or a `--set` does not apply (exit 2).
    pub fn template_and_params(&self) -> Result<(Arc<Template>, ParamValues), Error> {
        let template = load::template(&self.template)?;
        let values = params::resolve(&template, &self.set)?;
        Ok((template, values))
    }

    /// Open one data file (`-` = stdin).
    ///
    /// # Errors
    /// The file cannot be opened, or its format cannot be told (exit 2).
    pub fn open(&self, path: &Path) -> Result<Records, Error> {
        let options = ReadOptions {
            format: self.input_format.map(|f| match f {
                FormatArg::Ndjson => InputFormat::Ndjson,
                FormatArg::Json => InputFormat::JsonArray,
                FormatArg::Csv | FormatArg::Tsv => InputFormat::Csv,
            }),
            max_record_bytes: self.max_record_bytes,
            delimiter: self
                .delimiter
                .or((self.input_format == Some(FormatArg::Tsv)).then_some(b'\t')),
        };
        record::open(path, &options).map_err(|e| {
            Error::usage(format!("cannot read {}: {e}", path.display())).with_help(
                "give a .ndjson, .jsonl, .json, .csv or .tsv file, or --input-format for other names",
            )
        })
    }
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Records read (including unreadable ones).
    pub read: u64,
    /// Records valid.
    pub valid: u64,
    /// Records invalid or unreadable.
    pub invalid: u64,
    /// Warnings reported (values Moodle accepts but that are probably wrong).
    pub warnings: u64,
}

impl Tally {
    /// `records read: N, valid: V, invalid: I` (and `, warnings: W` when there are any)
    pub fn summary(&self) -> String {
        let warnings = if self.warnings > 0 {
            format!(", warnings: {}", self.warnings)
        } else {
            String::new()
        };
        format!(
            "records read: {}, valid: {}, invalid: {}{warnings}",
            self.read, self.valid, self.invalid
        )
    }
}
