//! The canonical frame: its columns, and the builder that turns canonical
//! rows into a polars `DataFrame`.

use polars::prelude::*;

use crate::normalize::{Row, Schema};

/// How a file's records are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Framing {
    JsonLines,
    Array,
    Records,
    Value,
    Tables,
    Objects,
    Csv,
    Parquet,
}

/// The export dialect of a row: record schema and framing together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    /// Storage-account `PT1H.json`, JSON Lines of resource-log records.
    StorageJsonl,
    /// `{"records":[…]}`: Event Hubs bodies, legacy storage blobs.
    RecordsEnvelope,
    /// Resource-log records framed otherwise (array, pretty objects).
    ResourceLogJson,
    /// REST `{"value":[…],"nextLink":…}`.
    RestValue,
    /// REST / portal / CLI / Extractor-Suite EventData: array or objects.
    RestArray,
    /// REST EventData, one per line.
    RestJsonl,
    /// Python SDK `as_dict()` (snake_case), e.g. CISA Untitled Goose Tool.
    PythonSdk,
    /// PowerShell `PSEventData` (PascalCase, `Claims.Content`).
    PowerShell,
    /// Log Analytics `AzureActivity` rows as JSON (array, lines).
    LaJson,
    /// Log Analytics query API `{"tables":[…]}`.
    LaTables,
    /// Log Analytics portal CSV export.
    LaCsv,
    /// `AzureActivity` columns in Parquet.
    LaParquet,
    /// Resource-log columns in Parquet.
    ResourceLogParquet,
    /// EventData columns in Parquet.
    RestParquet,
    /// This tool's canonical columns in Parquet.
    CanonicalParquet,
}

impl Dialect {
    pub fn of(schema: Schema, framing: Framing) -> Dialect {
        use Framing as F;
        match schema {
            Schema::ResourceLog => match framing {
                F::JsonLines => Dialect::StorageJsonl,
                F::Records => Dialect::RecordsEnvelope,
                F::Parquet => Dialect::ResourceLogParquet,
                _ => Dialect::ResourceLogJson,
            },
            Schema::RestCamel => match framing {
                F::Value => Dialect::RestValue,
                F::JsonLines => Dialect::RestJsonl,
                F::Parquet => Dialect::RestParquet,
                _ => Dialect::RestArray,
            },
            Schema::SdkSnake => Dialect::PythonSdk,
            Schema::PowerShell => Dialect::PowerShell,
            Schema::AzureActivity => match framing {
                F::Tables => Dialect::LaTables,
                F::Csv => Dialect::LaCsv,
                F::Parquet => Dialect::LaParquet,
                _ => Dialect::LaJson,
            },
            Schema::Canonical => Dialect::CanonicalParquet,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::StorageJsonl => "storage-jsonl",
            Dialect::RecordsEnvelope => "records-envelope",
            Dialect::ResourceLogJson => "resource-log-json",
            Dialect::RestValue => "rest-value",
            Dialect::RestArray => "rest-array",
            Dialect::RestJsonl => "rest-jsonl",
            Dialect::PythonSdk => "python-sdk",
            Dialect::PowerShell => "powershell",
            Dialect::LaJson => "la-json",
            Dialect::LaTables => "la-tables",
            Dialect::LaCsv => "la-csv",
            Dialect::LaParquet => "la-parquet",
            Dialect::ResourceLogParquet => "resource-log-parquet",
            Dialect::RestParquet => "rest-parquet",
            Dialect::CanonicalParquet => "canonical-parquet",
        }
    }
}

macro_rules! string_columns {
    ($( $variant:ident = $name:literal, $lower:literal; )*) => {
        /// The string columns of the canonical frame, in schema order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Col { $( $variant, )* }

        impl Col {
            pub const ALL: &'static [Col] = &[ $( Col::$variant, )* ];
            pub const COUNT: usize = Self::ALL.len();

            /// The column's name in the frame.
            pub fn name(self) -> &'static str {
                match self { $( Col::$variant => $name, )* }
            }

            /// Whether values are lower-cased for matching (ids, names, codes).
            pub fn lowercased(self) -> bool {
                match self { $( Col::$variant => $lower, )* }
            }

            pub fn from_name(n: &str) -> Option<Col> {
                match n { $( $name => Some(Col::$variant), )* _ => None }
            }
        }
    };
}

string_columns! {
    EventId = "event_id", true;
    CorrelationId = "correlation_id", true;
    OperationId = "operation_id", true;
    TenantId = "tenant_id", true;
    SubscriptionId = "subscription_id", true;
    ResourceId = "resource_id", true;
    ResourceGroup = "resource_group", true;
    ResourceProvider = "resource_provider", true;
    ResourceType = "resource_type", true;
    ResourceName = "resource_name", true;
    Operation = "operation", true;
    OperationDisplay = "operation_display", false;
    Category = "category", true;
    Status = "status", true;
    SubStatus = "sub_status", true;
    Level = "level", true;
    Caller = "caller", true;
    CallerIp = "caller_ip", true;
    TokenIp = "token_ip", true;
    PrincipalId = "principal_id", true;
    PrincipalType = "principal_type", true;
    AppId = "app_id", true;
    AuthAction = "auth_action", true;
    AuthScope = "auth_scope", true;
    Role = "role", false;
    HttpMethod = "http_method", false;
    HttpUri = "http_uri", false;
    ClientRequestId = "client_request_id", true;
    RequestBody = "request_body", false;
    ResponseBody = "response_body", false;
    Properties = "properties", false;
    Claims = "claims", false;
}

/// Where a row's original record lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceRef {
    /// Index into the run's input list.
    pub file: u32,
    /// Byte offset of the record in the (decompressed) input.
    pub offset: u64,
    /// Byte length of the record.
    pub len: u32,
    /// Ordinal of the record (or table row) in its input, from 0.
    pub row: u32,
}

/// The `time` column's microseconds since the epoch (UTC).
pub fn times(df: &DataFrame) -> crate::error::Result<Int64Chunked> {
    Ok(df
        .column("time")?
        .as_materialized_series()
        .datetime()?
        .physical()
        .clone())
}

/// Names of all frame columns, in order.
pub fn column_names() -> Vec<&'static str> {
    let mut v = vec!["time"];
    v.extend(Col::ALL.iter().map(|c| c.name()));
    v.extend([
        "dialect",
        "source_file",
        "source_offset",
        "source_len",
        "source_row",
    ]);
    v
}

/// The frame's polars schema.
pub fn schema() -> Schema_ {
    let mut s = Schema_::with_capacity(Col::COUNT + 6);
    s.insert(PlSmallStr::from_static("time"), time_dtype());
    for c in Col::ALL {
        s.insert(PlSmallStr::from_static(c.name()), DataType::String);
    }
    s.insert(PlSmallStr::from_static("dialect"), dialect_dtype());
    s.insert(PlSmallStr::from_static("source_file"), DataType::UInt32);
    s.insert(PlSmallStr::from_static("source_offset"), DataType::UInt64);
    s.insert(PlSmallStr::from_static("source_len"), DataType::UInt32);
    s.insert(PlSmallStr::from_static("source_row"), DataType::UInt32);
    s
}

/// polars' `Schema` (aliased: `normalize::Schema` is the record family).
pub type Schema_ = polars::prelude::Schema;

pub fn time_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

pub fn dialect_dtype() -> DataType {
    DataType::from_categories(Categories::global())
}

#[inline]
fn has_upper(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        s.chars().any(char::is_uppercase)
    }
}

/// Builds one frame chunk row by row.
pub struct FrameBuilder {
    time: Vec<i64>,
    strs: Vec<StringChunkedBuilder>,
    dialect: StringChunkedBuilder,
    file: Vec<u32>,
    offset: Vec<u64>,
    len: Vec<u32>,
    row: Vec<u32>,
    scratch: String,
}

impl FrameBuilder {
    pub fn new(capacity: usize) -> Self {
        FrameBuilder {
            time: Vec::with_capacity(capacity),
            strs: Col::ALL
                .iter()
                .map(|c| StringChunkedBuilder::new(PlSmallStr::from_static(c.name()), capacity))
                .collect(),
            dialect: StringChunkedBuilder::new(PlSmallStr::from_static("dialect"), capacity),
            file: Vec::with_capacity(capacity),
            offset: Vec::with_capacity(capacity),
            len: Vec::with_capacity(capacity),
            row: Vec::with_capacity(capacity),
            scratch: String::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Appends a row. `event_id` is the row's, or `id` when the row has none.
    pub fn push(&mut self, row: &Row<'_>, id: Option<&str>, dialect: Dialect, src: SourceRef) {
        self.time.push(row.time);
        for (i, c) in Col::ALL.iter().enumerate() {
            let v = match (row.cols[i].as_deref(), *c) {
                (None, Col::EventId) => id,
                (v, _) => v,
            };
            match v {
                None => self.strs[i].append_null(),
                Some(v) if c.lowercased() && has_upper(v) => {
                    self.scratch.clear();
                    if v.is_ascii() {
                        self.scratch.push_str(v);
                        self.scratch.make_ascii_lowercase();
                    } else {
                        self.scratch.push_str(&v.to_lowercase());
                    }
                    self.strs[i].append_value(&self.scratch);
                }
                Some(v) => self.strs[i].append_value(v),
            }
        }
        self.dialect.append_value(dialect.as_str());
        self.file.push(src.file);
        self.offset.push(src.offset);
        self.len.push(src.len);
        self.row.push(src.row);
    }

    pub fn finish(self) -> DataFrame {
        let h = self.time.len();
        let mut cols: Vec<Column> = Vec::with_capacity(Col::COUNT + 6);
        let time = Int64Chunked::from_vec(PlSmallStr::from_static("time"), self.time)
            .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
        cols.push(time.into_column());
        for b in self.strs {
            cols.push(b.finish().into_column());
        }
        let dialect = self
            .dialect
            .finish()
            .into_series()
            .cast(&dialect_dtype())
            .expect("string to categorical cast");
        cols.push(dialect.into_column());
        cols.push(
            UInt32Chunked::from_vec(PlSmallStr::from_static("source_file"), self.file)
                .into_column(),
        );
        cols.push(
            UInt64Chunked::from_vec(PlSmallStr::from_static("source_offset"), self.offset)
                .into_column(),
        );
        cols.push(
            UInt32Chunked::from_vec(PlSmallStr::from_static("source_len"), self.len).into_column(),
        );
        cols.push(
            UInt32Chunked::from_vec(PlSmallStr::from_static("source_row"), self.row).into_column(),
        );
        DataFrame::new(h, cols).expect("frame columns have equal length")
    }
}

/// An empty frame with the canonical schema.
pub fn empty() -> DataFrame {
    FrameBuilder::new(0).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_is_found_anywhere() {
        let long = "/subscriptions/0000/resourcegroups/rg/providers/microsoft.compute";
        for (text, upper) in [
            ("", false),
            ("abc-123", false),
            (long, false),
            (&format!("{long}X")[..], true),
            (&format!("X{long}")[..], true),
            ("straße", false),
            ("STRASSE", true),
            ("ÉTÉ", true),
            (&format!("{long}é")[..], false),
            (&format!("{long}É")[..], true),
        ] {
            assert_eq!(has_upper(text), upper, "{text}");
        }
    }

    #[test]
    fn schema_matches_builder() {
        let df = empty();
        let names: Vec<_> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(names, column_names());
        let sch = schema();
        for (name, dt) in sch.iter() {
            assert_eq!(df.column(name).unwrap().dtype(), dt, "{name}");
        }
    }

    #[test]
    fn col_names_round_trip() {
        for c in Col::ALL {
            assert_eq!(Col::from_name(c.name()), Some(*c));
        }
    }
}
