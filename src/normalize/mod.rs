//! Turning one parsed record (any dialect) into one canonical row.
//!
//! Every JSON dialect goes through the same mapper: the record's top-level
//! keys are compared ignoring case and underscores, so REST camelCase
//! (`eventTimestamp`), PowerShell PascalCase (`EventTimestamp`) and Python
//! SDK snake_case (`event_timestamp`) land in the same slot; the resource-log
//! (`time`, `identity`) and Log Analytics `AzureActivity` (`TimeGenerated`,
//! `OperationNameValue`, `Claims_d`) spellings have slots of their own.
//! Tabular inputs (CSV, Parquet) are turned into JSON objects first and come
//! through here too.

pub mod tape;
pub mod time;
pub mod values;

use std::borrow::Cow;

use simd_json::Buffers;
#[cfg(test)]
use simd_json::Node;

use crate::frame::Col;
use tape::TVal;
use values::{dashed_guid, parse_resource_id, strip_port};

/// The record schema family, decided per record from its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schema {
    /// Diagnostic-settings resource-log form: `time`, `resourceId`, `operationName` string, `identity`.
    ResourceLog,
    /// REST / portal / CLI EventData, camelCase.
    RestCamel,
    /// Python SDK `as_dict()`, snake_case.
    SdkSnake,
    /// PowerShell `PSEventData`, PascalCase (`Claims.Content`).
    PowerShell,
    /// Log Analytics / Sentinel `AzureActivity` table rows.
    AzureActivity,
    /// This tool's own canonical columns (a Parquet written by `convert`).
    Canonical,
}

/// Options that change how values are read.
#[derive(Clone, Copy, Debug, Default)]
pub struct MapOptions {
    /// Read ambiguous numeric dates as day/month/year.
    pub day_first: bool,
}

/// One canonical row, borrowing from the parsed record where it can.
pub struct Row<'a> {
    pub time: i64,
    pub schema: Schema,
    pub cols: [Option<Cow<'a, str>>; Col::COUNT],
}

impl<'a> Row<'a> {
    fn new(schema: Schema) -> Self {
        Row {
            time: 0,
            schema,
            cols: std::array::from_fn(|_| None),
        }
    }
    #[inline]
    fn set(&mut self, c: Col, v: Option<Cow<'a, str>>) {
        if let Some(v) = v
            && !v.is_empty()
            && self.cols[c as usize].is_none()
        {
            self.cols[c as usize] = Some(v);
        }
    }
    #[inline]
    fn set_str(&mut self, c: Col, v: Option<&'a str>) {
        self.set(c, v.map(Cow::Borrowed));
    }
    pub fn get(&self, c: Col) -> Option<&str> {
        self.cols[c as usize].as_deref()
    }
}

/// Why a record is not in the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// Parsed, but not an Activity Log record (a resource log of another
    /// category, another Log Analytics table, unrelated JSON).
    NotActivity(String),
    /// An Activity Log record whose time is missing or unreadable.
    BadTime(String),
}

impl std::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmapped::NotActivity(s) => write!(f, "not an activity record: {s}"),
            Unmapped::BadTime(s) => write!(f, "{s}"),
        }
    }
}

/// A scratch parser for JSON text nested in a string value (Log Analytics
/// `Claims`, `Properties`, `HTTPRequest` columns exported as text).
#[derive(Default)]
pub struct SubParser {
    buf: Vec<u8>,
    buffers: Option<Buffers>,
}

impl SubParser {
    /// Parses `text` and hands the root value to `f`; `None` when it is not JSON.
    pub fn with<R>(&mut self, text: &str, f: impl FnOnce(TVal<'_, '_>) -> R) -> Option<R> {
        let t = text.trim_start();
        if !(t.starts_with('{') || t.starts_with('[')) {
            return None;
        }
        self.buf.clear();
        self.buf.extend_from_slice(t.as_bytes());
        let buffers = self.buffers.get_or_insert_with(|| Buffers::new(4096));
        let tape = simd_json::to_tape_with_buffers(&mut self.buf, buffers).ok()?;
        Some(f(TVal::root(&tape.0)))
    }
}

/// Buffers the JSON text of `claims` and `properties` is written into, reused
/// from record to record (the row borrows them).
#[derive(Default)]
pub struct Scratch {
    claims: String,
    properties: String,
}

/// Top-level slots, filled in one pass over the record's members.
#[derive(Default)]
struct Slots<'t, 'i> {
    time: Option<TVal<'t, 'i>>,
    event_ts: Option<TVal<'t, 'i>>,
    time_generated: Option<TVal<'t, 'i>>,
    event_id: Option<TVal<'t, 'i>>,
    correlation_id: Option<TVal<'t, 'i>>,
    operation_id: Option<TVal<'t, 'i>>,
    tenant_id: Option<TVal<'t, 'i>>,
    subscription_id: Option<TVal<'t, 'i>>,
    resource_id: Option<TVal<'t, 'i>>,
    resource_group: Option<TVal<'t, 'i>>,
    resource_provider: Option<TVal<'t, 'i>>,
    resource_provider_value: Option<TVal<'t, 'i>>,
    resource_type: Option<TVal<'t, 'i>>,
    op_name: Option<TVal<'t, 'i>>,
    op_name_key: &'i str,
    op_name_value: Option<TVal<'t, 'i>>,
    category: Option<TVal<'t, 'i>>,
    category_value: Option<TVal<'t, 'i>>,
    status: Option<TVal<'t, 'i>>,
    result_type: Option<TVal<'t, 'i>>,
    activity_status: Option<TVal<'t, 'i>>,
    activity_status_value: Option<TVal<'t, 'i>>,
    sub_status: Option<TVal<'t, 'i>>,
    result_signature: Option<TVal<'t, 'i>>,
    activity_substatus: Option<TVal<'t, 'i>>,
    activity_substatus_value: Option<TVal<'t, 'i>>,
    level: Option<TVal<'t, 'i>>,
    caller: Option<TVal<'t, 'i>>,
    caller_ip: Option<TVal<'t, 'i>>,
    http_request: Option<TVal<'t, 'i>>,
    authorization: Option<TVal<'t, 'i>>,
    authorization_d: Option<TVal<'t, 'i>>,
    identity: Option<TVal<'t, 'i>>,
    claims: Option<TVal<'t, 'i>>,
    claims_d: Option<TVal<'t, 'i>>,
    properties: Option<TVal<'t, 'i>>,
    properties_d: Option<TVal<'t, 'i>>,
    id: Option<TVal<'t, 'i>>,
    hierarchy: Option<TVal<'t, 'i>>,
    table_type: Option<TVal<'t, 'i>>,
    source_offset: bool,
}

/// Lower-cases `k` and drops `_` into `buf`; `None` when too long to be a slot key.
#[inline]
fn squash<'b>(k: &str, buf: &'b mut [u8; 40]) -> Option<&'b [u8]> {
    let mut n = 0;
    for &c in k.as_bytes() {
        if c == b'_' {
            continue;
        }
        if n == buf.len() {
            return None;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    Some(&buf[..n])
}

fn collect_slots<'t, 'i>(root: TVal<'t, 'i>) -> Slots<'t, 'i> {
    let mut s = Slots::default();
    let mut buf = [0u8; 40];
    for (k, v) in root.members() {
        let Some(key) = squash(k, &mut buf) else {
            continue;
        };
        let slot = match key {
            b"time" => &mut s.time,
            b"eventtimestamp" => &mut s.event_ts,
            b"timegenerated" => &mut s.time_generated,
            b"eventdataid" => &mut s.event_id,
            b"correlationid" => &mut s.correlation_id,
            b"operationid" => &mut s.operation_id,
            b"tenantid" => &mut s.tenant_id,
            b"subscriptionid" => &mut s.subscription_id,
            b"resourceid" => &mut s.resource_id,
            b"resourcegroupname" | b"resourcegroup" => &mut s.resource_group,
            b"resourceprovidername" | b"resourceprovider" => &mut s.resource_provider,
            b"resourceprovidervalue" => &mut s.resource_provider_value,
            b"resourcetype" => &mut s.resource_type,
            b"operationname" => {
                s.op_name_key = k;
                &mut s.op_name
            }
            b"operationnamevalue" => &mut s.op_name_value,
            b"category" => &mut s.category,
            b"categoryvalue" => &mut s.category_value,
            b"status" => &mut s.status,
            b"resulttype" => &mut s.result_type,
            b"activitystatus" => &mut s.activity_status,
            b"activitystatusvalue" => &mut s.activity_status_value,
            b"substatus" => &mut s.sub_status,
            b"resultsignature" => &mut s.result_signature,
            b"activitysubstatus" => &mut s.activity_substatus,
            b"activitysubstatusvalue" => &mut s.activity_substatus_value,
            b"level" => &mut s.level,
            b"caller" => &mut s.caller,
            b"calleripaddress" => &mut s.caller_ip,
            b"httprequest" => &mut s.http_request,
            b"authorization" => &mut s.authorization,
            b"authorizationd" => &mut s.authorization_d,
            b"identity" => &mut s.identity,
            b"claims" => &mut s.claims,
            b"claimsd" => &mut s.claims_d,
            b"properties" => &mut s.properties,
            b"propertiesd" => &mut s.properties_d,
            b"id" => &mut s.id,
            b"hierarchy" => &mut s.hierarchy,
            b"type" => &mut s.table_type,
            b"sourceoffset" => {
                s.source_offset = true;
                continue;
            }
            _ => continue,
        };
        // The first spelling wins (`ResourceId` before `_ResourceId`), but a
        // null never hides a later real value.
        if slot.is_none_or(|old| old.is_null()) {
            *slot = Some(v);
        }
    }
    s
}

fn nonnull<'t, 'i>(v: Option<TVal<'t, 'i>>) -> Option<TVal<'t, 'i>> {
    v.filter(|v| !v.is_null())
}

/// Classifies a record from its keys; `Err` says why it is not an activity record.
fn classify(s: &Slots<'_, '_>) -> Result<Schema, Unmapped> {
    let has = |v: &Option<TVal<'_, '_>>| nonnull(*v).is_some();
    if has(&s.time_generated) {
        let is_aa = has(&s.op_name_value)
            || has(&s.activity_status_value)
            || has(&s.category_value)
            || s.table_type
                .and_then(|t| t.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case("AzureActivity"));
        if is_aa {
            return Ok(Schema::AzureActivity);
        }
        let table = s.table_type.and_then(|t| t.as_str()).unwrap_or("unknown");
        return Err(Unmapped::NotActivity(format!(
            "Log Analytics row of table {table:?}, not AzureActivity"
        )));
    }
    if s.source_offset && has(&s.time) {
        return Ok(Schema::Canonical);
    }
    if (has(&s.event_ts) || has(&s.event_id)) && has(&s.op_name) {
        let k = s.op_name_key;
        return Ok(if k.contains('_') {
            Schema::SdkSnake
        } else if k.starts_with('O') {
            Schema::PowerShell
        } else {
            Schema::RestCamel
        });
    }
    if has(&s.time) && has(&s.op_name) {
        let cat = s.category.and_then(|c| c.str_or_value());
        return match cat {
            Some(c) if !values::is_activity_category(c) => Err(Unmapped::NotActivity(format!(
                "resource log of category {c:?}, not an Activity Log record"
            ))),
            Some(_) => Ok(Schema::ResourceLog),
            None => {
                let op = s.op_name.and_then(|o| o.str_or_value()).unwrap_or("");
                if op.contains('/') {
                    Ok(Schema::ResourceLog)
                } else {
                    Err(Unmapped::NotActivity(format!(
                        "resource log with operation {op:?} and no category"
                    )))
                }
            }
        };
    }
    Err(Unmapped::NotActivity(
        "no Activity Log fields (time, eventTimestamp or TimeGenerated with an operation name)"
            .into(),
    ))
}

/// PowerShell wraps claims and properties in `{ "Content": {...} }`.
fn unwrap_content<'t, 'i>(v: TVal<'t, 'i>) -> TVal<'t, 'i> {
    let mut m = v.members();
    if let (Some((k, inner)), None) = (m.next(), m.next())
        && k.eq_ignore_ascii_case("content")
        && inner.is_object()
    {
        return inner;
    }
    v
}

/// Values taken from a claims object.
#[derive(Default)]
struct ClaimVals<'a> {
    app_id: Option<Cow<'a, str>>,
    ip: Option<Cow<'a, str>>,
    idtyp: Option<Cow<'a, str>>,
    oid: Option<Cow<'a, str>>,
    upn: Option<Cow<'a, str>>,
    name_uri: Option<Cow<'a, str>>,
    unique_name: Option<Cow<'a, str>>,
    tid: Option<Cow<'a, str>>,
}

fn read_claims<'a>(c: TVal<'_, 'a>, own: bool) -> ClaimVals<'a> {
    let mut out = ClaimVals::default();
    let cv = |s: &'a str| -> Cow<'a, str> {
        if own {
            Cow::Owned(s.to_owned())
        } else {
            Cow::Borrowed(s)
        }
    };
    for (k, v) in c.members() {
        let Some(val) = v.as_str() else { continue };
        let slot = match k {
            "appid" | "azp" => &mut out.app_id,
            "ipaddr" => &mut out.ip,
            "idtyp" => &mut out.idtyp,
            "oid" => &mut out.oid,
            "upn" => &mut out.upn,
            "unique_name" => &mut out.unique_name,
            "tid" => &mut out.tid,
            _ if k.starts_with("http") => match k.rsplit('/').next().unwrap_or("") {
                "objectidentifier" => &mut out.oid,
                "upn" => &mut out.upn,
                "name" => &mut out.name_uri,
                "tenantid" => &mut out.tid,
                _ => continue,
            },
            _ => continue,
        };
        if slot.is_none() && !val.is_empty() {
            *slot = Some(cv(val));
        }
    }
    out
}

/// Values taken from an authorization object.
#[derive(Default)]
struct AuthVals<'a> {
    action: Option<Cow<'a, str>>,
    scope: Option<Cow<'a, str>>,
    role: Option<Cow<'a, str>>,
    principal_id: Option<Cow<'a, str>>,
    principal_type: Option<Cow<'a, str>>,
}

fn read_auth<'a>(a: TVal<'_, 'a>, own: bool, out: &mut AuthVals<'a>) {
    let cv = |s: &'a str| -> Cow<'a, str> {
        if own {
            Cow::Owned(s.to_owned())
        } else {
            Cow::Borrowed(s)
        }
    };
    for (k, v) in a.members() {
        if k.eq_ignore_ascii_case("evidence") {
            for (ek, ev) in v.members() {
                let Some(s) = ev.as_str().filter(|s| !s.is_empty()) else {
                    continue;
                };
                if ek.eq_ignore_ascii_case("role") {
                    out.role = Some(cv(s));
                } else if ek.eq_ignore_ascii_case("principalId") {
                    out.principal_id.get_or_insert(cv(s));
                } else if ek.eq_ignore_ascii_case("principalType") {
                    out.principal_type.get_or_insert(cv(s));
                }
            }
            continue;
        }
        let Some(s) = v.as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        if k.eq_ignore_ascii_case("action") {
            out.action.get_or_insert(cv(s));
        } else if k.eq_ignore_ascii_case("scope") {
            out.scope.get_or_insert(cv(s));
        } else if k.eq_ignore_ascii_case("role") {
            out.role.get_or_insert(cv(s));
        }
    }
}

/// Values taken from an httpRequest object.
#[derive(Default)]
struct HttpVals<'a> {
    client_request_id: Option<Cow<'a, str>>,
    ip: Option<Cow<'a, str>>,
    method: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
}

fn read_http<'a>(h: TVal<'_, 'a>, own: bool) -> HttpVals<'a> {
    let cv = |s: &'a str| -> Cow<'a, str> {
        if own {
            Cow::Owned(s.to_owned())
        } else {
            Cow::Borrowed(s)
        }
    };
    let mut out = HttpVals::default();
    let mut buf = [0u8; 40];
    for (k, v) in h.members() {
        let Some(s) = v.as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        let Some(key) = squash(k, &mut buf) else {
            continue;
        };
        let slot = match key {
            b"clientrequestid" | b"clientid" => &mut out.client_request_id,
            b"clientipaddress" => &mut out.ip,
            b"method" => &mut out.method,
            b"uri" | b"url" => &mut out.uri,
            _ => continue,
        };
        slot.get_or_insert(cv(s));
    }
    out
}

/// Values taken from a properties object.
#[derive(Default)]
struct PropVals<'a> {
    request_body: Option<Cow<'a, str>>,
    response_body: Option<Cow<'a, str>>,
    event_category: Option<Cow<'a, str>>,
    hierarchy: Option<Cow<'a, str>>,
}

fn body_text<'a>(v: TVal<'_, 'a>, own: bool) -> Option<Cow<'a, str>> {
    if let Some(s) = v.as_str() {
        return (!s.is_empty()).then(|| {
            if own {
                Cow::Owned(s.to_owned())
            } else {
                Cow::Borrowed(s)
            }
        });
    }
    if v.is_object() || v.is_array() {
        return Some(Cow::Owned(v.to_json()));
    }
    None
}

fn read_props<'a>(p: TVal<'_, 'a>, own: bool) -> PropVals<'a> {
    let mut out = PropVals::default();
    let cv = |s: &'a str| -> Cow<'a, str> {
        if own {
            Cow::Owned(s.to_owned())
        } else {
            Cow::Borrowed(s)
        }
    };
    for (k, v) in p.members() {
        if k.eq_ignore_ascii_case("requestbody") {
            out.request_body = out.request_body.or_else(|| body_text(v, own));
        } else if k.eq_ignore_ascii_case("responsebody") {
            out.response_body = out.response_body.or_else(|| body_text(v, own));
        } else if k.eq_ignore_ascii_case("eventCategory") {
            out.event_category = out.event_category.or_else(|| v.as_str().map(cv));
        } else if k.eq_ignore_ascii_case("hierarchy") {
            out.hierarchy = out.hierarchy.or_else(|| v.as_str().map(cv));
        }
    }
    out
}

/// A dynamic column: either an object already, or JSON text in a string.
enum Dyn<'t, 'i> {
    Obj(TVal<'t, 'i>),
    Text(&'i str),
}

fn dynamic<'t, 'i>(v: Option<TVal<'t, 'i>>) -> Option<Dyn<'t, 'i>> {
    let v = nonnull(v)?;
    if v.is_object() {
        Some(Dyn::Obj(v))
    } else {
        v.as_str().filter(|s| !s.trim().is_empty()).map(Dyn::Text)
    }
}

/// Maps one parsed record onto a canonical row. `event_id` is left empty
/// when the record has none; the caller fills in the stable content hash.
pub fn map_record<'i>(
    root: TVal<'_, 'i>,
    opts: MapOptions,
    sub: &mut SubParser,
    scratch: &'i mut Scratch,
) -> Result<Row<'i>, Unmapped> {
    let Scratch {
        claims: claims_buf,
        properties: props_buf,
    } = scratch;
    if !root.is_object() {
        return Err(Unmapped::NotActivity("not a JSON object".into()));
    }
    let s = collect_slots(root);
    let schema = classify(&s)?;
    if schema == Schema::Canonical {
        return map_canonical(root, opts);
    }
    let mut row = Row::new(schema);
    let aa = schema == Schema::AzureActivity;

    // Time.
    let time_v = match schema {
        Schema::ResourceLog => s.time,
        Schema::AzureActivity => s.time_generated,
        _ => s.event_ts,
    };
    row.time = match nonnull(time_v) {
        Some(v) => match v.as_str() {
            Some(t) => time::parse_time(t, opts.day_first)
                .map_err(|e| Unmapped::BadTime(format!("unreadable time: {e}")))?,
            None => return Err(Unmapped::BadTime("time is not a string".into())),
        },
        None => match ticks_time(s.id) {
            Some(t) => t,
            None => return Err(Unmapped::BadTime("missing time".into())),
        },
    };

    let sv = |v: Option<TVal<'_, 'i>>| nonnull(v).and_then(|v| v.str_or_value());

    row.set_str(Col::EventId, sv(s.event_id));
    row.set_str(Col::CorrelationId, sv(s.correlation_id));
    row.set_str(Col::OperationId, sv(s.operation_id));
    if !aa {
        // In AzureActivity, TenantId is the Log Analytics workspace.
        row.set_str(Col::TenantId, sv(s.tenant_id));
    }
    row.set_str(Col::SubscriptionId, sv(s.subscription_id));
    row.set_str(Col::ResourceId, sv(s.resource_id));
    row.set_str(Col::ResourceGroup, sv(s.resource_group));
    row.set_str(Col::ResourceProvider, sv(s.resource_provider_value));
    row.set_str(Col::ResourceProvider, sv(s.resource_provider));
    row.set_str(Col::ResourceType, sv(s.resource_type));

    // Operation and its display name.
    if aa {
        row.set_str(Col::Operation, sv(s.op_name_value));
        if row.get(Col::Operation).is_some() {
            row.set_str(Col::OperationDisplay, sv(s.op_name));
        } else {
            row.set_str(Col::Operation, sv(s.op_name));
        }
    } else {
        row.set_str(Col::Operation, sv(s.op_name));
        row.set_str(
            Col::OperationDisplay,
            nonnull(s.op_name).and_then(|v| v.localized()),
        );
    }

    // Category, status, sub-status, level.
    let cat = sv(s.category_value).or_else(|| sv(s.category));
    row.set(Col::Category, cat.map(values::category));
    let st = sv(s.activity_status_value)
        .or_else(|| sv(s.activity_status))
        .or_else(|| sv(s.status))
        .or_else(|| sv(s.result_type));
    row.set(Col::Status, st.map(values::status));
    let sub_st = sv(s.activity_substatus_value)
        .or_else(|| sv(s.activity_substatus))
        .or_else(|| sv(s.sub_status))
        .or_else(|| sv(s.result_signature).and_then(|r| r.split_once('.').map(|(_, b)| b)));
    row.set(Col::SubStatus, sub_st.and_then(values::sub_status));
    if let Some(l) = nonnull(s.level) {
        let lv = match l.as_i64() {
            Some(n) => Some(values::level(&n.to_string())),
            None => l.as_str().map(values::level),
        };
        row.set(Col::Level, lv);
    }

    // Claims.
    let identity = nonnull(s.identity).filter(|v| v.is_object());
    let claims_src = identity
        .and_then(|i| i.get_loose("claims"))
        .or(s.claims)
        .or(s.claims_d);
    let mut claims = ClaimVals::default();
    match dynamic(claims_src) {
        Some(Dyn::Obj(c)) => {
            let c = unwrap_content(c);
            claims_buf.clear();
            c.write_json(claims_buf);
            let text: &'i String = claims_buf;
            row.set_str(Col::Claims, Some(text));
            claims = read_claims(c, false);
        }
        Some(Dyn::Text(t)) => {
            row.set_str(Col::Claims, Some(t));
            if let Some(c) = sub.with(t, |c| owned_claims(read_claims(unwrap_content(c), true))) {
                claims = c;
            }
        }
        None => {}
    }

    // Authorization (REST top level, resource-log identity, AzureActivity column).
    let mut auth = AuthVals::default();
    let auth_src = identity
        .and_then(|i| i.get_loose("authorization"))
        .or(s.authorization_d)
        .or(s.authorization);
    match dynamic(auth_src) {
        Some(Dyn::Obj(a)) => read_auth(a, false, &mut auth),
        Some(Dyn::Text(t)) => {
            if let Some(a) = sub.with(t, |a| {
                let mut tmp = AuthVals::default();
                read_auth(a, true, &mut tmp);
                owned_auth(tmp)
            }) {
                auth = a;
            }
        }
        None => {}
    }
    if identity.is_none() {
        // Some pipelines write `identity` as a plain string (OTel corner case).
        if let Some(id) = nonnull(s.identity).and_then(|v| v.as_str()) {
            row.set_str(Col::Caller, Some(id));
        }
    }

    // HTTP request.
    let http = match dynamic(s.http_request) {
        Some(Dyn::Obj(h)) => read_http(h, false),
        Some(Dyn::Text(t)) => sub
            .with(t, |h| owned_http(read_http(h, true)))
            .unwrap_or_default(),
        None => HttpVals::default(),
    };

    // Properties.
    let props = match dynamic(s.properties_d.or(s.properties)) {
        Some(Dyn::Obj(p)) => {
            let p = unwrap_content(p);
            props_buf.clear();
            p.write_json(props_buf);
            let text: &'i String = props_buf;
            row.set_str(Col::Properties, Some(text));
            read_props(p, false)
        }
        Some(Dyn::Text(t)) => {
            row.set_str(Col::Properties, Some(t));
            sub.with(t, |p| owned_props(read_props(unwrap_content(p), true)))
                .unwrap_or_default()
        }
        None => PropVals::default(),
    };

    // Caller and principal.
    row.set_str(Col::Caller, sv(s.caller));
    row.set(Col::Caller, claims.upn.clone());
    row.set(Col::Caller, claims.name_uri.clone());
    row.set(Col::Caller, claims.unique_name.clone());
    row.set(Col::Caller, claims.oid.clone());
    let caller_ip = sv(s.caller_ip).map(Cow::Borrowed).or(http.ip);
    row.set(
        Col::CallerIp,
        caller_ip.map(|ip| own_map(ip, |s| Cow::Borrowed(strip_port(s)))),
    );
    row.set(
        Col::TokenIp,
        claims
            .ip
            .map(|ip| own_map(ip, |s| Cow::Borrowed(strip_port(s)))),
    );
    row.set(Col::PrincipalId, claims.oid);
    let group = auth
        .principal_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("group"));
    if !group {
        row.set(
            Col::PrincipalId,
            auth.principal_id.map(|p| own_map(p, dashed_guid)),
        );
    }
    row.set(
        Col::PrincipalType,
        claims.idtyp.map(|t| match t.as_ref() {
            "app" => Cow::Borrowed("serviceprincipal"),
            _ => t,
        }),
    );
    if !group {
        row.set(Col::PrincipalType, auth.principal_type);
    }
    if row.get(Col::Caller).is_none()
        && let Some(p) = row.cols[Col::PrincipalId as usize].clone()
    {
        row.set(Col::Caller, Some(p));
    }
    row.set(Col::AppId, claims.app_id);
    row.set(Col::AuthAction, auth.action);
    row.set(Col::AuthScope, auth.scope);
    row.set(Col::Role, auth.role);
    row.set(Col::HttpMethod, http.method);
    row.set(Col::HttpUri, http.uri);
    row.set(Col::ClientRequestId, http.client_request_id);
    row.set(Col::RequestBody, props.request_body);
    row.set(Col::ResponseBody, props.response_body);
    if row.get(Col::Category).is_none() {
        row.set(
            Col::Category,
            props.event_category.map(|c| values::category(&c)),
        );
    }

    // Ids that can be derived.
    let hierarchy: Option<Cow<'i, str>> = sv(s.hierarchy).map(Cow::Borrowed).or(props.hierarchy);
    row.set(Col::TenantId, claims.tid);
    if let Some(h) = &hierarchy {
        let parts: Vec<&str> = h.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() >= 2 {
            row.set(Col::TenantId, Some(Cow::Owned(parts[0].to_owned())));
        }
    }
    if let Some(rid) = row.cols[Col::ResourceId as usize].clone() {
        match rid {
            Cow::Borrowed(rid) => {
                let p = parse_resource_id(rid);
                row.set_str(Col::SubscriptionId, p.subscription);
                row.set_str(Col::ResourceGroup, p.resource_group);
                row.set_str(Col::ResourceProvider, p.provider);
                row.set(Col::ResourceType, p.rtype);
                row.set_str(Col::ResourceName, p.name);
            }
            Cow::Owned(rid) => {
                let p = parse_resource_id(&rid);
                let own = |v: Option<&str>| v.map(|s| Cow::Owned(s.to_owned()));
                row.set(Col::SubscriptionId, own(p.subscription));
                row.set(Col::ResourceGroup, own(p.resource_group));
                row.set(Col::ResourceProvider, own(p.provider));
                row.set(
                    Col::ResourceType,
                    p.rtype.map(|t| Cow::Owned(t.into_owned())),
                );
                row.set(Col::ResourceName, own(p.name));
            }
        }
    }
    Ok(row)
}

fn own_map<'a>(v: Cow<'a, str>, f: impl for<'x> Fn(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match v {
        Cow::Borrowed(b) => f(b),
        Cow::Owned(o) => Cow::Owned(f(&o).into_owned()),
    }
}

fn o<'a, 'b>(v: Option<Cow<'a, str>>) -> Option<Cow<'b, str>> {
    v.map(|c| Cow::Owned(c.into_owned()))
}

fn owned_claims<'b>(c: ClaimVals<'_>) -> ClaimVals<'b> {
    ClaimVals {
        app_id: o(c.app_id),
        ip: o(c.ip),
        idtyp: o(c.idtyp),
        oid: o(c.oid),
        upn: o(c.upn),
        name_uri: o(c.name_uri),
        unique_name: o(c.unique_name),
        tid: o(c.tid),
    }
}

fn owned_auth<'b>(a: AuthVals<'_>) -> AuthVals<'b> {
    AuthVals {
        action: o(a.action),
        scope: o(a.scope),
        role: o(a.role),
        principal_id: o(a.principal_id),
        principal_type: o(a.principal_type),
    }
}

fn owned_http<'b>(h: HttpVals<'_>) -> HttpVals<'b> {
    HttpVals {
        client_request_id: o(h.client_request_id),
        ip: o(h.ip),
        method: o(h.method),
        uri: o(h.uri),
    }
}

fn owned_props<'b>(p: PropVals<'_>) -> PropVals<'b> {
    PropVals {
        request_body: o(p.request_body),
        response_body: o(p.response_body),
        event_category: o(p.event_category),
        hierarchy: o(p.hierarchy),
    }
}

/// The REST `id` ends in `/ticks/<n>`: a second source for the event time.
fn ticks_time(id: Option<TVal<'_, '_>>) -> Option<i64> {
    let id = id?.as_str()?;
    let (_, t) = id.rsplit_once("/ticks/")?;
    t.parse::<i64>().ok().map(time::from_ticks)
}

/// A row of this tool's own canonical frame (read back from Parquet).
fn map_canonical<'i>(root: TVal<'_, 'i>, opts: MapOptions) -> Result<Row<'i>, Unmapped> {
    let mut row = Row::new(Schema::Canonical);
    let mut time = None;
    for (k, v) in root.members() {
        if k == "time" {
            time = match (v.as_i64(), v.as_str()) {
                (Some(us), _) => Some(us),
                (None, Some(t)) => Some(
                    time::parse_time(t, opts.day_first)
                        .map_err(|e| Unmapped::BadTime(format!("unreadable time: {e}")))?,
                ),
                _ => None,
            };
            continue;
        }
        if let Some(c) = Col::from_name(k) {
            row.set_str(c, v.as_str());
        }
    }
    row.time = time.ok_or_else(|| Unmapped::BadTime("missing time".into()))?;
    Ok(row)
}

/// Whether `nodes` is a JSON object that wraps records rather than being
/// one: `{"records":[…]}`, `{"value":[…]}`, `{"tables":[…]}`.
pub fn envelope_key(root: TVal<'_, '_>) -> Option<&'static str> {
    if !root.is_object() {
        return None;
    }
    let mut env = None;
    for (k, v) in root.members() {
        let name = if k.eq_ignore_ascii_case("records") {
            "records"
        } else if k == "value" {
            "value"
        } else if k == "tables" {
            "tables"
        } else {
            // A record has its own time/operation keys; an envelope does not.
            let mut buf = [0u8; 40];
            if let Some(sq) = squash(k, &mut buf)
                && matches!(
                    sq,
                    b"time"
                        | b"eventtimestamp"
                        | b"timegenerated"
                        | b"operationname"
                        | b"eventdataid"
                )
            {
                return None;
            }
            continue;
        };
        if v.is_array() {
            env = Some(name);
        }
    }
    env
}

/// Quick check used when sniffing a file: the reason a parsed record is not
/// an activity record, if it is not one.
pub fn not_activity_reason(root: TVal<'_, '_>) -> Option<String> {
    if !root.is_object() {
        return Some("not a JSON object".into());
    }
    classify(&collect_slots(root)).err().map(|e| match e {
        Unmapped::NotActivity(s) | Unmapped::BadTime(s) => s,
    })
}

#[cfg(test)]
fn nodes_of(json: &str) -> Vec<Node<'static>> {
    let buf: &'static mut [u8] = Box::leak(json.as_bytes().to_vec().into_boxed_slice());
    simd_json::to_tape(buf).unwrap().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Mapped {
        time: String,
        cols: Vec<(Col, String)>,
    }

    fn map(json: &str) -> Result<Mapped, Unmapped> {
        let nodes = nodes_of(json);
        let mut sub = SubParser::default();
        let mut scratch = Scratch::default();
        let row = map_record(
            TVal::root(&nodes),
            MapOptions::default(),
            &mut sub,
            &mut scratch,
        )?;
        let cols = Col::ALL
            .iter()
            .filter_map(|&c| row.get(c).map(|v| (c, v.to_owned())))
            .collect();
        Ok(Mapped {
            time: time::format_micros(row.time),
            cols,
        })
    }

    fn get(m: &Mapped, c: Col) -> Option<&str> {
        m.cols
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, s)| s.as_str())
    }

    #[test]
    fn resource_log_record() {
        let r = map(
            r#"{"time":"2019-10-24T00:13:46.3554259Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.EVENTHUB/NAMESPACES/NS/AUTHORIZATIONRULES/R",
            "operationName":"MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION","category":"Action",
            "resultType":"Start","resultSignature":"Started.","durationMs":"0","callerIpAddress":"81.2.69.144:443",
            "correlationId":"C1","level":"Information",
            "identity":{"authorization":{"action":"a","scope":"/s","evidence":{"role":"Owner","principalId":"55555555555555555555555555555555","principalType":"ServicePrincipal"}},
            "claims":{"appid":"APP","ipaddr":"10.0.0.1","idtyp":"app"}}}"#,
        )
        .unwrap();
        assert_eq!(r.time, "2019-10-24T00:13:46.355425Z");
        assert_eq!(get(&r, Col::SubscriptionId), Some("S1"));
        assert_eq!(get(&r, Col::Category), Some("administrative"));
        assert_eq!(get(&r, Col::Status), Some("started"));
        assert_eq!(get(&r, Col::SubStatus), None);
        assert_eq!(get(&r, Col::Level), Some("informational"));
        assert_eq!(get(&r, Col::CallerIp), Some("81.2.69.144"));
        assert_eq!(get(&r, Col::TokenIp), Some("10.0.0.1"));
        assert_eq!(
            get(&r, Col::PrincipalId),
            Some("55555555-5555-5555-5555-555555555555")
        );
        assert_eq!(
            get(&r, Col::Caller),
            Some("55555555-5555-5555-5555-555555555555")
        );
        assert_eq!(get(&r, Col::PrincipalType), Some("serviceprincipal"));
        assert_eq!(get(&r, Col::Role), Some("Owner"));
        assert_eq!(get(&r, Col::AppId), Some("APP"));
        assert_eq!(
            get(&r, Col::Claims),
            Some(r#"{"appid":"APP","ipaddr":"10.0.0.1","idtyp":"app"}"#)
        );
        assert_eq!(
            get(&r, Col::ResourceType),
            Some("MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES")
        );
    }

    #[test]
    fn key_vault_audit_event_is_not_activity() {
        let e = map(r#"{"time":"2019-10-24T00:13:46Z","resourceId":"/x","operationName":"VaultGet","category":"AuditEvent","identity":{"claim":{}}}"#)
            .unwrap_err();
        assert!(
            matches!(e, Unmapped::NotActivity(ref s) if s.contains("AuditEvent")),
            "{e:?}"
        );
    }

    #[test]
    fn missing_and_bad_time_are_rejected() {
        let e = map(r#"{"eventDataId":"e","operationName":{"value":"x/y"}}"#).unwrap_err();
        assert_eq!(e, Unmapped::BadTime("missing time".into()));
        let e =
            map(r#"{"eventTimestamp":"yesterday","operationName":{"value":"x/y"}}"#).unwrap_err();
        assert!(matches!(e, Unmapped::BadTime(ref s) if s.contains("yesterday")));
    }

    #[test]
    fn rest_ticks_fallback() {
        let r = map(r#"{"eventDataId":"E","operationName":{"value":"a/b"},"id":"/subscriptions/s/events/E/ticks/636528553513810679"}"#).unwrap();
        assert_eq!(r.time, "2018-01-29T20:42:31.381067Z");
    }

    #[test]
    fn powershell_content_wrappers() {
        let r = map(
            r#"{"EventTimestamp":"3/6/2024 10:38:38 AM","EventDataId":"E1","OperationName":{"Value":"Microsoft.Compute/virtualMachines/write","LocalizedValue":"Create VM"},
            "Status":{"Value":"Succeeded"},"Level":3,"Caller":"a@b.c","HttpRequest":{"ClientId":"CR","Method":"PUT","Url":"https://x","ClientIpAddress":"1.2.3.4"},
            "Claims":{"Content":{"appid":"1950a258-227b-4e31-a9cf-717495945fc2"}},"Properties":{"Content":{"requestbody":"{\"a\":1}"}}}"#,
        )
        .unwrap();
        assert_eq!(r.time, "2024-03-06T10:38:38.000000Z");
        assert_eq!(get(&r, Col::OperationDisplay), Some("Create VM"));
        assert_eq!(get(&r, Col::Level), Some("informational"));
        assert_eq!(get(&r, Col::ClientRequestId), Some("CR"));
        assert_eq!(get(&r, Col::HttpUri), Some("https://x"));
        assert_eq!(get(&r, Col::CallerIp), Some("1.2.3.4"));
        assert_eq!(get(&r, Col::RequestBody), Some(r#"{"a":1}"#));
        assert_eq!(
            get(&r, Col::Properties),
            Some(r#"{"requestbody":"{\"a\":1}"}"#)
        );
    }

    #[test]
    fn azure_activity_with_text_columns() {
        let r = map(
            r#"{"TimeGenerated":"2023-05-25T04:32:49.469Z","TenantId":"WORKSPACE","OperationNameValue":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
            "OperationName":"List Storage Account Keys","ActivityStatusValue":"Success","ActivitySubstatusValue":"OK (HTTP Status Code: 200)",
            "CategoryValue":"Administrative","Claims":"{\"ipaddr\":\"9.9.9.9\",\"http://schemas.microsoft.com/identity/claims/tenantid\":\"T1\"}",
            "Authorization":"{\"action\":\"act\",\"scope\":\"/subscriptions/S\"}","HTTPRequest":"{\"method\":\"POST\"}",
            "Properties":"{\"requestbody\":\"{}\",\"hierarchy\":\"T2/S\"}","_ResourceId":"/subscriptions/S/resourcegroups/rg/providers/microsoft.storage/storageaccounts/sa"}"#,
        )
        .unwrap();
        assert_eq!(get(&r, Col::TenantId), Some("T1"));
        assert_eq!(
            get(&r, Col::Operation),
            Some("MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION")
        );
        assert_eq!(
            get(&r, Col::OperationDisplay),
            Some("List Storage Account Keys")
        );
        assert_eq!(get(&r, Col::Status), Some("succeeded"));
        assert_eq!(get(&r, Col::SubStatus), Some("ok"));
        assert_eq!(get(&r, Col::TokenIp), Some("9.9.9.9"));
        assert_eq!(get(&r, Col::AuthAction), Some("act"));
        assert_eq!(get(&r, Col::HttpMethod), Some("POST"));
        assert_eq!(get(&r, Col::RequestBody), Some("{}"));
        assert_eq!(get(&r, Col::ResourceName), Some("sa"));
        assert_eq!(get(&r, Col::SubscriptionId), Some("S"));
    }

    #[test]
    fn other_log_analytics_table_is_not_activity() {
        let e =
            map(r#"{"TimeGenerated":"2023-05-25T04:32:49Z","Type":"SigninLogs","ResultType":"0"}"#)
                .unwrap_err();
        assert!(matches!(e, Unmapped::NotActivity(ref s) if s.contains("SigninLogs")));
    }

    #[test]
    fn group_evidence_is_not_the_caller() {
        let r = map(
            r#"{"time":"2020-01-01T00:00:00Z","operationName":"A/B","category":"Administrative",
            "identity":{"authorization":{"evidence":{"principalId":"11111111111111111111111111111111","principalType":"Group"}},"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"u@x.com","http://schemas.microsoft.com/identity/claims/objectidentifier":"OID"}}}"#,
        )
        .unwrap();
        assert_eq!(get(&r, Col::Caller), Some("u@x.com"));
        assert_eq!(get(&r, Col::PrincipalId), Some("OID"));
        assert_eq!(get(&r, Col::PrincipalType), None);
    }

    #[test]
    fn envelopes() {
        let n = nodes_of(r#"{"records":[{"a":1}]}"#);
        assert_eq!(envelope_key(TVal::root(&n)), Some("records"));
        let n = nodes_of(r#"{"nextLink":null,"value":[]}"#);
        assert_eq!(envelope_key(TVal::root(&n)), Some("value"));
        let n = nodes_of(r#"{"time":"x","records":[]}"#);
        assert_eq!(envelope_key(TVal::root(&n)), None);
    }
}
