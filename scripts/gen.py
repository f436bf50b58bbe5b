#!/usr/bin/env python3
"""Deterministic generator of Azure Activity Log exports in every dialect.

Two uses:

  gen.py samples DIR
      writes the bundled samples: the same handful of events in each
      dialect armhunt reads (one file per dialect, plus .gz and .zip).

  gen.py scenarios DIR
      writes the detection scenarios (tests/data/scenarios): each rule's
      attack by its own actor, a benign look-alike for each, and benign
      background activity, plus expected.json saying which actor must get
      which finding and which must not.

  gen.py bulk --dialect storage --size 1GiB --out DIR [--seed N] [--files N]
      writes realistic synthetic data of about the requested size, for
      benchmarks and large tests. Dialects: storage (a PT1H.json tree of
      hourly files), rest-pretty (pretty-printed REST arrays, several
      files), la-csv (Log Analytics CSV export), python-sdk, powershell,
      rest-jsonl, la-jsonl (hourly JSON Lines files), rest-value,
      extractor-suite, cli, records, la-json, la-tables (files of 5,000
      events).

Same arguments, same bytes: everything comes from one seeded PRNG and a
fixed start time; nothing reads the clock. Only the Python standard
library is used, except Parquet output, which needs pyarrow and is only
written when pyarrow is importable.
"""

import argparse
import copy
import csv
import datetime as dt
import gzip
import io
import json
import os
import random
import sys
import uuid
import zipfile

TICKS_AT_EPOCH = 621355968000000000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

APP_PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
APP_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
APP_PWSH = "1950a258-227b-4e31-a9cf-717495945fc2"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
WORKSPACE = "9c7b1f2e-0d4a-4a55-8a3e-6c1f3b2a9d10"

# Operations with their localized names, HTTP method and resource type path.
OPERATIONS = [
    ("Microsoft.Compute/virtualMachines/write", "Create or Update Virtual Machine", "PUT", "Microsoft.Compute/virtualMachines"),
    ("Microsoft.Compute/virtualMachines/start/action", "Start Virtual Machine", "POST", "Microsoft.Compute/virtualMachines"),
    ("Microsoft.Compute/virtualMachines/deallocate/action", "Deallocate Virtual Machine", "POST", "Microsoft.Compute/virtualMachines"),
    ("Microsoft.Compute/virtualMachines/runCommand/action", "Run Command on Virtual Machine", "POST", "Microsoft.Compute/virtualMachines"),
    ("Microsoft.Compute/disks/write", "Create or Update Disk", "PUT", "Microsoft.Compute/disks"),
    ("Microsoft.Storage/storageAccounts/listKeys/action", "List Storage Account Keys", "POST", "Microsoft.Storage/storageAccounts"),
    ("Microsoft.Storage/storageAccounts/write", "Create/Update Storage Account", "PUT", "Microsoft.Storage/storageAccounts"),
    ("Microsoft.Network/networkSecurityGroups/securityRules/write", "Create or Update Security Rule", "PUT", "Microsoft.Network/networkSecurityGroups"),
    ("Microsoft.KeyVault/vaults/write", "Update Key Vault", "PUT", "Microsoft.KeyVault/vaults"),
    ("Microsoft.Web/sites/write", "Create or Update Web App", "PUT", "Microsoft.Web/sites"),
    ("Microsoft.Resources/deployments/write", "Create Deployment", "PUT", "Microsoft.Resources/deployments"),
    ("Microsoft.Authorization/roleAssignments/write", "Create role assignment", "PUT", "Microsoft.Authorization/roleAssignments"),
    ("Microsoft.Insights/diagnosticSettings/write", "Create or update resource diagnostic setting", "PUT", "Microsoft.Insights/diagnosticSettings"),
]


def iso7(t):
    """2024-05-01T10:00:00.1234567Z from a (datetime, 100ns remainder) pair."""
    base, rem = t
    return base.strftime("%Y-%m-%dT%H:%M:%S") + ".%06d%d" % (base.microsecond, rem) + "Z"


def iso_trim(t, digits=6, zone="Z"):
    base, _ = t
    frac = ("%06d" % base.microsecond)[:digits].rstrip("0")
    s = base.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + frac
    return s + zone


def ticks(t):
    base, rem = t
    delta = base - EPOCH
    return TICKS_AT_EPOCH + (delta.days * 86400 + delta.seconds) * 10**7 + delta.microseconds * 10 + rem


def us_datetime(t):
    """Log Analytics portal CSV: 5/25/2023, 4:32:49.469 AM"""
    base, _ = t
    h = base.hour % 12 or 12
    ampm = "AM" if base.hour < 12 else "PM"
    return "%d/%d/%d, %d:%02d:%02d.%03d %s" % (
        base.month, base.day, base.year, h, base.minute, base.second, base.microsecond // 1000, ampm)


def hex32(u):
    return u.replace("-", "")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def guid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def b64ish(self, n):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return "".join(self.r.choice(alphabet) for _ in range(n))


def make_principal(g, upn=None, app=APP_PORTAL, sp=False, name=None):
    oid = g.guid()
    return {"upn": upn, "oid": oid, "app": app, "sp": sp, "name": name or (upn or "automation")}


def claims_for(g, p, ip, t):
    base, _ = t
    iat = int((base - EPOCH).total_seconds()) - 600
    c = {
        "aud": "https://management.core.windows.net/",
        "iss": "https://sts.windows.net/%s/" % TENANT,
        "iat": str(iat),
        "nbf": str(iat),
        "exp": str(iat + 4500),
    }
    if p["sp"]:
        c.update({
            "aio": g.b64ish(56) + "=",
            "appid": p["app"],
            "appidacr": "2",
            "http://schemas.microsoft.com/identity/claims/identityprovider": "https://sts.windows.net/%s/" % TENANT,
            "idtyp": "app",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": p["oid"],
            "rh": "0." + g.b64ish(40) + ".",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": p["oid"],
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "uti": g.b64ish(22),
            "ver": "1.0",
            "xms_tcdt": "1391159646",
        })
    else:
        given, _, domain = p["upn"].partition("@")
        c.update({
            "http://schemas.microsoft.com/claims/authnclassreference": "1",
            "aio": g.b64ish(140) + "==",
            "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa",
            "appid": p["app"],
            "appidacr": "0",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": p["upn"],
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": given.capitalize(),
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": given.capitalize(),
            "groups": ",".join(g.guid() for _ in range(3)),
            "http://schemas.microsoft.com/identity/claims/identityprovider": "https://sts.windows.net/%s/" % TENANT,
            "idtyp": "user",
            "ipaddr": ip,
            "name": p["name"],
            "http://schemas.microsoft.com/identity/claims/objectidentifier": p["oid"],
            "puid": "10032001%08X" % g.r.getrandbits(32),
            "rh": "1." + g.b64ish(60) + ".",
            "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
            "sid": g.guid(),
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": g.b64ish(43),
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": p["upn"],
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": p["upn"],
            "uti": g.b64ish(22),
            "ver": "1.0",
            "wids": ",".join(g.guid() for _ in range(2)),
            "xms_tcdt": "1391159646",
        })
    return c


def resource_id(sub, rg, rtype, name):
    return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (sub, rg, rtype, name)


def make_event(g, t, sub, p, ip, op, rg, name, status="Succeeded", sub_status="OK", corr=None,
               request_body=None, response_body=None):
    opname, display, method, rtype = op
    if rtype == "Microsoft.Authorization/roleAssignments":
        rid = "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (sub, name)
    elif rtype == "Microsoft.Insights/diagnosticSettings":
        rid = "/subscriptions/%s/providers/microsoft.insights/diagnosticSettings/%s" % (sub, name)
    else:
        rid = resource_id(sub, rg, rtype, name)
    claims = claims_for(g, p, ip, t)
    return {
        "t": t,
        "event_data_id": g.guid(),
        "correlation_id": corr or g.guid(),
        "operation_id": g.guid(),
        "sub": sub,
        "rg": rg,
        "rid": rid,
        "op": opname,
        "display": display,
        "method": method,
        "rtype": rtype,
        "status": status,
        "sub_status": sub_status,
        "caller": p["upn"] or p["oid"],
        "ip": ip,
        "claims": claims,
        "principal": p,
        "client_request_id": g.guid(),
        "request_body": request_body,
        "response_body": response_body,
        "role_assignment_id": hex32(g.guid()),
        "service_request_id": g.guid(),
        "submission": (t[0] + dt.timedelta(seconds=g.r.randint(20, 200)), 0),
    }


STATUS_VERB = {"Started": "Start", "Succeeded": "Success", "Failed": "Failure", "Accepted": "Accept"}
SUBSTATUS_TEXT = {"OK": "OK (HTTP Status Code: 200)", "Created": "Created (HTTP Status Code: 201)",
                  "Accepted": "Accepted (HTTP Status Code: 202)", "Forbidden": "Forbidden (HTTP Status Code: 403)",
                  "": ""}


def props_of(ev):
    p = {
        "statusCode": ev["sub_status"] or "",
        "serviceRequestId": ev["service_request_id"],
        "eventCategory": "Administrative",
        "entity": ev["rid"],
        "message": ev["op"],
        "hierarchy": "%s/%s" % (TENANT, ev["sub"]),
    }
    if ev["request_body"] is not None:
        p["requestbody"] = json.dumps(ev["request_body"], separators=(",", ":"))
    if ev["response_body"] is not None:
        p["responseBody"] = json.dumps(ev["response_body"], separators=(",", ":"))
    return p


def evidence_of(ev):
    p = ev["principal"]
    return {
        "role": "Owner",
        "roleAssignmentScope": "/subscriptions/%s" % ev["sub"],
        "roleAssignmentId": ev["role_assignment_id"],
        "roleDefinitionId": "8e3af657a8ff443ca75c2fe8c4bcb635",
        "principalId": hex32(p["oid"]),
        "principalType": "ServicePrincipal" if p["sp"] else "User",
    }


def render_resource_log(ev):
    return {
        "RoleLocation": "West Europe",
        "time": iso7(ev["t"]),
        "resourceId": ev["rid"].upper(),
        "operationName": ev["op"].upper(),
        "category": "Administrative",
        "resultType": STATUS_VERB.get(ev["status"], ev["status"]),
        "resultSignature": "%s.%s" % (ev["status"], ev["sub_status"]),
        "durationMs": "0" if ev["status"] == "Started" else str(ev["t"][0].microsecond % 3000),
        "callerIpAddress": ev["ip"],
        "correlationId": ev["correlation_id"],
        "identity": {
            "authorization": {
                "scope": ev["rid"],
                "action": ev["op"],
                "evidence": evidence_of(ev),
            },
            "claims": ev["claims"],
        },
        "level": "Information",
        "location": "global",
        "properties": props_of(ev),
        "tenantId": TENANT,
    }


def localized(v, loc=None):
    return {"value": v, "localizedValue": loc if loc is not None else v}


def render_rest(ev, ts=None):
    rp = ev["rtype"].split("/")[0]
    http = {"clientRequestId": ev["client_request_id"], "clientIpAddress": ev["ip"], "method": ev["method"]}
    return {
        "authorization": {"action": ev["op"], "scope": ev["rid"]},
        "caller": ev["caller"],
        "channels": "Operation",
        "claims": ev["claims"],
        "correlationId": ev["correlation_id"],
        "description": "",
        "eventDataId": ev["event_data_id"],
        "eventName": localized("EndRequest", "End request") if ev["status"] != "Started" else localized("BeginRequest", "Begin request"),
        "category": localized("Administrative"),
        "eventTimestamp": ts(ev["t"]) if ts else iso7(ev["t"]),
        "id": "%s/events/%s/ticks/%d" % (ev["rid"], ev["event_data_id"], ticks(ev["t"])),
        "level": "Informational",
        "operationId": ev["operation_id"],
        "operationName": localized(ev["op"], ev["display"]),
        "resourceGroupName": ev["rg"],
        "resourceProviderName": localized(rp),
        "resourceType": localized(ev["rtype"]),
        "resourceId": ev["rid"],
        "status": localized(ev["status"]),
        "subStatus": localized(ev["sub_status"], SUBSTATUS_TEXT.get(ev["sub_status"], ev["sub_status"])),
        "submissionTimestamp": iso_trim(ev["submission"], 6),
        "subscriptionId": ev["sub"],
        "tenantId": TENANT,
        "properties": props_of(ev),
        "relatedEvents": [],
        "httpRequest": http,
    }


def snake(k):
    out = []
    for i, c in enumerate(k):
        if c.isupper() and i > 0:
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def render_sdk(ev):
    rest = render_rest(ev, ts=lambda t: iso_trim(t, 6))
    out = {}
    for k, v in rest.items():
        if k in ("channels", "relatedEvents"):
            continue
        if k in ("claims", "properties"):
            out[snake(k)] = v
        elif isinstance(v, dict):
            out[snake(k)] = {snake(a): b for a, b in v.items()}
        else:
            out[snake(k)] = v
    return out


def render_powershell(ev):
    rest = render_rest(ev, ts=lambda t: iso7(t))
    out = {}
    for k, v in rest.items():
        if k in ("channels", "relatedEvents"):
            continue
        K = k[0].upper() + k[1:]
        if k in ("claims", "properties"):
            out[K] = {"Content": v}
        elif k == "httpRequest":
            out["HttpRequest"] = {"ClientId": v["clientRequestId"], "Method": v["method"], "Url": None,
                                  "ClientIpAddress": v["clientIpAddress"]}
        elif isinstance(v, dict):
            out[K] = {a[0].upper() + a[1:]: b for a, b in v.items()}
        else:
            out[K] = v
    return out


def render_la(ev):
    """An AzureActivity table row (Log Analytics), dynamic columns as both forms."""
    rest = render_rest(ev)
    http = json.dumps(rest["httpRequest"], separators=(",", ":"))
    props = props_of(ev)
    props_d = dict(props)
    props_d.update({"caller": ev["caller"], "resource": ev["rid"].split("/")[-1],
                    "resourceProviderValue": ev["rtype"].split("/")[0].upper()})
    auth = {"action": ev["op"], "scope": ev["rid"], "evidence": evidence_of(ev)}
    return {
        "TenantId": WORKSPACE,
        "SourceSystem": "Azure",
        "TimeGenerated": iso_trim(ev["t"], 3),
        "CallerIpAddress": ev["ip"],
        "CategoryValue": "Administrative",
        "CorrelationId": ev["correlation_id"],
        "EventDataId": ev["event_data_id"],
        "EventSubmissionTimestamp": iso_trim(ev["submission"], 3),
        "Hierarchy": "%s/%s" % (TENANT, ev["sub"]),
        "HTTPRequest": http,
        "Level": "Informational",
        "OperationId": ev["operation_id"],
        "OperationNameValue": ev["op"].upper(),
        "OperationName": ev["display"],
        "Properties": json.dumps(props_d, separators=(",", ":")),
        "Claims": json.dumps(ev["claims"], separators=(",", ":")),
        "Authorization": json.dumps(auth, separators=(",", ":")),
        "ActivityStatusValue": STATUS_VERB.get(ev["status"], ev["status"]),
        "ActivitySubstatusValue": ev["sub_status"],
        "ResourceGroup": ev["rg"].upper(),
        "ResourceProviderValue": ev["rtype"].split("/")[0].upper(),
        "ResourceId": ev["rid"].upper(),
        "_ResourceId": ev["rid"].lower(),
        "SubscriptionId": ev["sub"],
        "Caller": ev["caller"],
        "Type": "AzureActivity",
    }


def la_with_dynamic(row):
    """The CLI/Sentinel JSON form: dynamic columns as objects too."""
    r = dict(row)
    r["Properties_d"] = json.loads(row["Properties"])
    r["Claims_d"] = json.loads(row["Claims"])
    r["Authorization_d"] = json.loads(row["Authorization"])
    return r


def compact(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------
# The sample story: six events, one small intrusion and one benign change.

SAMPLE_SUB = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"


def sample_events():
    g = Gen(20240501)
    mallory = make_principal(g, upn="mallory@contoso.onmicrosoft.com", app=APP_PWSH, name="Mallory Ext")
    alice = make_principal(g, upn="alice@contoso.com", app=APP_PORTAL, name="Alice Admin")
    ip_bad = "203.0.113.66"
    ip_alice = "198.51.100.20"
    base = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.timezone.utc)

    def at(minutes, seconds, us, rem):
        return (base + dt.timedelta(minutes=minutes, seconds=seconds, microseconds=us), rem)

    op = {o[0]: o for o in OPERATIONS}
    evs = [
        make_event(g, at(2, 5, 123456, 7), SAMPLE_SUB, alice, ip_alice, op["Microsoft.Compute/virtualMachines/write"],
                   "rg-web", "vm-web-01", request_body={"location": "westeurope", "properties": {"hardwareProfile": {"vmSize": "Standard_B2s"}}}),
        make_event(g, at(14, 31, 502210, 3), SAMPLE_SUB, mallory, ip_bad, op["Microsoft.Storage/storageAccounts/listKeys/action"],
                   "rg-data", "stprod01"),
        make_event(g, at(14, 33, 40001, 0), SAMPLE_SUB, mallory, ip_bad, op["Microsoft.Storage/storageAccounts/listKeys/action"],
                   "rg-backup", "stbackup02"),
        make_event(g, at(16, 2, 999999, 9), SAMPLE_SUB, mallory, ip_bad, op["Microsoft.Authorization/roleAssignments/write"],
                   "", g.guid(), sub_status="Created",
                   request_body={"Id": "x", "Properties": {"PrincipalId": g.guid(), "RoleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635" % SAMPLE_SUB, "Scope": "/subscriptions/%s" % SAMPLE_SUB}}),
        make_event(g, at(21, 10, 1, 0), SAMPLE_SUB, mallory, ip_bad, op["Microsoft.Compute/virtualMachines/runCommand/action"],
                   "rg-web", "vm-web-01", status="Accepted", sub_status="Accepted"),
        make_event(g, at(29, 59, 750000, 1), SAMPLE_SUB, mallory, ip_bad,
                   ("Microsoft.Insights/diagnosticSettings/delete", "Delete resource diagnostic setting", "DELETE", "Microsoft.Insights/diagnosticSettings"),
                   "", "send-to-sentinel"),
    ]
    return evs


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def ps5_json(o):
    """Windows PowerShell 5.1 ConvertTo-Json indentation: 4 spaces, '"key":  value'."""
    text = json.dumps(o, indent=4, ensure_ascii=False)
    return text.replace('": ', '":  ')


def write_samples(root):
    evs = sample_events()
    sub = SAMPLE_SUB.upper()
    rl = [render_resource_log(e) for e in evs]
    storage = "".join(compact(r) + "\n" for r in rl).encode()
    write(os.path.join(root, "storage/insights-activity-logs/resourceId=/SUBSCRIPTIONS/%s/y=2024/m=05/d=01/h=10/m=00/PT1H.json" % sub), storage)
    write(os.path.join(root, "eventhub/records.json"), json.dumps({"records": rl}, indent=2).encode())
    rest = [render_rest(e) for e in evs]
    write(os.path.join(root, "rest/value.json"), json.dumps({"value": rest, "nextLink": None}, indent=2).encode())
    write(os.path.join(root, "extractor-suite/20240501120000-%s-ActivityLog.json" % SAMPLE_SUB),
          b"\xef\xbb\xbf" + ps5_json(rest).replace("\n", "\r\n").encode())
    cli = [render_rest(e, ts=lambda t: iso_trim(t, 6, "+00:00")) for e in evs]
    write(os.path.join(root, "cli/az-monitor-activity-log-list.json"), json.dumps(cli, indent=2).encode())
    write(os.path.join(root, "goose/%s/Activity Log/azure_activity_log_2024-05-01.json" % SAMPLE_SUB),
          "".join(json.dumps(render_sdk(e)) + "\n" for e in evs).encode())
    write(os.path.join(root, "powershell/AzRM_%s_%s_2024-05-01_10-00-00.json" % (TENANT, SAMPLE_SUB)),
          b"\xef\xbb\xbf" + "".join(compact(render_powershell(e)) + "\r\n" for e in evs).encode())
    la = [render_la(e) for e in evs]
    write(os.path.join(root, "log-analytics/azureactivity.json"),
          json.dumps([la_with_dynamic(r) for r in la], indent=2).encode())
    cols = list(la[0].keys())
    tables = {"tables": [{"name": "PrimaryResult",
                          "columns": [{"name": c, "type": "datetime" if c in ("TimeGenerated", "EventSubmissionTimestamp") else "string"} for c in cols],
                          "rows": [[r[c] for c in cols] for r in la]}]}
    write(os.path.join(root, "log-analytics/query-api-tables.json"), compact(tables).encode())
    write(os.path.join(root, "log-analytics/azureactivity.csv"), b"\xef\xbb\xbf" + la_csv(la, evs).encode())
    # Compressed copies: the storage blob gzipped, the REST file zipped.
    write(os.path.join(root, "compressed/PT1H.json.gz"), gzip_bytes(storage))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("ActivityLogs/value.json", date_time=(2024, 5, 1, 12, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, json.dumps({"value": rest}, indent=2))
    write(os.path.join(root, "compressed/export.zip"), zbuf.getvalue())
    try:
        write_la_parquet(os.path.join(root, "parquet/azureactivity.parquet"), la, evs)
    except ImportError:
        print("pyarrow not importable: parquet sample not written", file=sys.stderr)


def gzip_bytes(b):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(b)
    return buf.getvalue()


def la_csv(rows, evs):
    out = io.StringIO()
    cols = list(rows[0].keys())
    header = [c + " [UTC]" if c in ("TimeGenerated", "EventSubmissionTimestamp") else c for c in cols]
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for r, e in zip(rows, evs):
        vals = []
        for c in cols:
            if c == "TimeGenerated":
                vals.append(us_datetime(e["t"]))
            elif c == "EventSubmissionTimestamp":
                vals.append(us_datetime(e["submission"]))
            else:
                vals.append(r[c])
        w.writerow(vals)
    return out.getvalue()


def write_la_parquet(path, rows, evs):
    import pyarrow as pa
    import pyarrow.parquet as pq
    cols = list(rows[0].keys())
    data = {}
    for c in cols:
        if c in ("TimeGenerated", "EventSubmissionTimestamp"):
            key = "t" if c == "TimeGenerated" else "submission"
            data[c] = pa.array([e[key][0] for e in evs], type=pa.timestamp("us", tz="UTC"))
        else:
            data[c] = pa.array([r[c] for r in rows], type=pa.string())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(pa.table(data), path, compression="snappy")


# ---------------------------------------------------------------------------
# Bulk data

def bulk_events(g, start, count_hint_per_hour, hours, subs, principals, ips):
    """Yields (hour_index, sub, [events]) for each hour of each subscription."""
    rgs = ["rg-web", "rg-data", "rg-backup", "rg-net", "rg-apps", "rg-shared"]
    names = ["vm-%02d" % i for i in range(40)] + ["st%02dprod" % i for i in range(20)]
    for h in range(hours):
        for sub in subs:
            evs = []
            n = max(1, int(count_hint_per_hour * (0.8 + 0.4 * g.r.random())))
            hour = start + dt.timedelta(hours=h)
            offsets = sorted(g.r.randrange(3600 * 10**7) for _ in range(n))
            for off in offsets:
                p = g.r.choice(principals)
                ip = ips[principals.index(p)]
                op = g.r.choice(OPERATIONS)
                base = hour + dt.timedelta(microseconds=off // 10)
                t = (base, off % 10)
                status = g.r.choice(["Started", "Succeeded", "Succeeded", "Accepted", "Failed"])
                sub_status = {"Started": "", "Succeeded": "OK", "Accepted": "Accepted", "Failed": "Forbidden"}[status]
                body = None
                if op[2] == "PUT" and status == "Started":
                    body = {"location": "westeurope", "tags": {"env": g.r.choice(["prod", "dev"])},
                            "properties": {"provisioningState": "Succeeded", "note": g.b64ish(200)}}
                evs.append(make_event(g, t, sub, p, ip, op, g.r.choice(rgs), g.r.choice(names),
                                      status=status, sub_status=sub_status, request_body=body))
            yield h, hour, sub, evs


def _tables(evs):
    rows = [render_la(e) for e in evs]
    cols = list(rows[0].keys())
    return compact({"tables": [{"name": "PrimaryResult", "columns": [{"name": c, "type": "string"} for c in cols],
                                "rows": [[r[c] for c in cols] for r in rows]}]}).encode()


# JSON Lines dialects: one file per subscription and hour.
LINE_DIALECTS = {
    "python-sdk": lambda e: json.dumps(render_sdk(e)),
    "powershell": lambda e: compact(render_powershell(e)),
    "rest-jsonl": lambda e: compact(render_rest(e)),
    "la-jsonl": lambda e: compact(la_with_dynamic(render_la(e))),
}

# Whole-document dialects: files of 5,000 events.
ARRAY_DIALECTS = {
    "rest-pretty": lambda evs: json.dumps([render_rest(e) for e in evs], indent=2).encode(),
    "rest-value": lambda evs: json.dumps({"value": [render_rest(e) for e in evs], "nextLink": None}, indent=2).encode(),
    "extractor-suite": lambda evs: b"\xef\xbb\xbf" + ps5_json([render_rest(e) for e in evs]).replace("\n", "\r\n").encode(),
    "cli": lambda evs: json.dumps([render_rest(e, ts=lambda t: iso_trim(t, 6, "+00:00")) for e in evs], indent=2).encode(),
    "records": lambda evs: json.dumps({"records": [render_resource_log(e) for e in evs]}, indent=2).encode(),
    "la-json": lambda evs: json.dumps([la_with_dynamic(render_la(e)) for e in evs], indent=2).encode(),
    "la-tables": _tables,
}

BULK_DIALECTS = ["storage", "la-csv"] + list(LINE_DIALECTS) + list(ARRAY_DIALECTS)


def parse_size(s):
    s = s.strip()
    units = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30}
    i = len(s.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return int(s[:i]) * units[s[i:].lower()]


def bulk(args):
    g = Gen(args.seed)
    size = parse_size(args.size)
    subs = [Gen(args.seed + i).guid() for i in range(3)]
    principals = [make_principal(g, upn="user%02d@contoso.com" % i, app=g.r.choice([APP_PORTAL, APP_CLI, APP_PWSH]))
                  for i in range(30)]
    principals += [make_principal(g, app=g.guid(), sp=True, name="automation-%d" % i) for i in range(10)]
    ips = ["%d.%d.%d.%d" % (g.r.choice([20, 40, 52, 104, 198]), g.r.randrange(256), g.r.randrange(256), g.r.randrange(1, 255))
           for _ in principals]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    files = args.files
    hours = max(1, files // len(subs))
    # ~3.2 KB per storage record; aim the per-hour count at the requested size.
    per_hour = max(1, size // (3200 * hours * len(subs)))
    os.makedirs(args.out, exist_ok=True)
    written = 0
    d = args.dialect
    rows_for_single = []
    out_single = None
    if d == "la-csv":
        out_single = open(os.path.join(args.out, "azureactivity.csv"), "w", newline="", encoding="utf-8")
        out_single.write("\ufeff")
        writer = None
    chunk_idx = 0
    for h, hour, sub, evs in bulk_events(g, start, per_hour, hours * 4, subs, principals, ips):
        if written >= size:
            break
        if d == "storage":
            data = "".join(compact(render_resource_log(e)) + "\n" for e in evs).encode()
            path = os.path.join(args.out, "insights-activity-logs/resourceId=/SUBSCRIPTIONS/%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json"
                                % (sub.upper(), hour.year, hour.month, hour.day, hour.hour))
            write(path, data)
            written += len(data)
        elif d in LINE_DIALECTS:
            data = "".join(LINE_DIALECTS[d](e) + "\n" for e in evs).encode()
            if d == "powershell":
                data = data.replace(b"\n", b"\r\n")
            path = os.path.join(args.out, "%s/%04d-%02d-%02dT%02d.json" % (sub, hour.year, hour.month, hour.day, hour.hour))
            write(path, data)
            written += len(data)
        elif d in ARRAY_DIALECTS:
            rows_for_single.extend(evs)
            if len(rows_for_single) >= 5000:
                data = ARRAY_DIALECTS[d](rows_for_single)
                write(os.path.join(args.out, "export-%04d.json" % chunk_idx), data)
                chunk_idx += 1
                written += len(data)
                rows_for_single = []
        elif d == "la-csv":
            rows = [render_la(e) for e in evs]
            if writer is None:
                cols = list(rows[0].keys())
                writer = csv.writer(out_single, lineterminator="\r\n")
                writer.writerow([c + " [UTC]" if c in ("TimeGenerated", "EventSubmissionTimestamp") else c for c in cols])
            for r, e in zip(rows, evs):
                vals = [us_datetime(e["t"]) if c == "TimeGenerated" else us_datetime(e["submission"]) if c == "EventSubmissionTimestamp" else r[c] for c in cols]
                writer.writerow(vals)
            written = out_single.tell()
        else:
            raise SystemExit("unknown bulk dialect %r (%s)" % (d, ", ".join(BULK_DIALECTS)))
    if d in ARRAY_DIALECTS and rows_for_single:
        data = ARRAY_DIALECTS[d](rows_for_single)
        write(os.path.join(args.out, "export-%04d.json" % chunk_idx), data)
        written += len(data)
    if out_single:
        out_single.close()
    print("wrote %d bytes of %s to %s" % (written, d, args.out), file=sys.stderr)


# ---------------------------------------------------------------------------
# Detection scenarios: every rule's attack, a benign look-alike for each, and
# benign background activity, as a storage-account tree plus the expected
# outcome. tests/data/scenarios is this, committed.

SCN_SUB = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
RG = "/subscriptions/%s/resourceGroups/%%s/providers/%%s" % SCN_SUB


def rid(rg, path):
    return RG % (rg, path)


def scenario_events():
    g = Gen(7)
    base = dt.datetime(2024, 6, 3, 0, 0, 0, tzinfo=dt.timezone.utc)
    out = []
    expected = {"attacks": {}, "lookalikes": {}, "benign": []}
    slot = [0]

    def actor(name, app=APP_PWSH):
        return make_principal(g, upn="%s@contoso.com" % name, app=app, name=name)

    def at(minutes, seconds=0):
        return (base + dt.timedelta(minutes=slot[0] * 40 + minutes, seconds=seconds), 0)

    def emit(p, t, op, res, status="Succeeded", req=None, resp=None, started=False, sub_status="OK", ip=None, token_ip=None):
        opdef = (op, op.split("/")[-2] + " " + op.split("/")[-1], "POST", "/".join(op.split("/")[:2]))
        corr = g.guid()
        ip = ip or "203.0.113.%d" % (slot[0] % 250 + 1)

        def addressed(e):
            if token_ip is not None:
                e["claims"]["ipaddr"] = token_ip
            return e
        if started:
            e0 = make_event(g, t, SCN_SUB, p, ip, opdef, "rg", "x",
                            status="Started", sub_status="", corr=corr, request_body=req)
            e0["rid"] = res
            out.append(addressed(e0))
            t = (t[0] + dt.timedelta(seconds=2), t[1])
            req = None
        e = make_event(g, t, SCN_SUB, p, ip, opdef, "rg", "x",
                       status=status, sub_status=sub_status, corr=corr, request_body=req, response_body=resp)
        e["rid"] = res
        out.append(addressed(e))

    def attack(rule, name):
        slot[0] += 1
        p = actor(name)
        expected["attacks"].setdefault(p["upn"], []).append(rule)
        return p

    def lookalike(rule, name):
        slot[0] += 1
        p = actor(name)
        expected["lookalikes"].setdefault(p["upn"], []).append(rule)
        return p

    LK = "Microsoft.Storage/storageAccounts/listKeys/action"
    # AH-CRED-001
    p = attack("AH-CRED-001", "keysweep")
    for n in range(6):
        emit(p, at(1, n * 15), LK, rid("rg-data", "Microsoft.Storage/storageAccounts/stdata%02d" % n))
    p = lookalike("AH-CRED-001", "backupsvc")
    for n in range(4):
        emit(p, at(1, n * 15), LK, rid("rg-data", "Microsoft.Storage/storageAccounts/stdata%02d" % n))
    p = lookalike("AH-CRED-001", "cloudshelluser")
    for n in range(5):
        emit(p, at(1, n * 15), LK, rid("cloud-shell-storage-westeurope", "Microsoft.Storage/storageAccounts/cs%02d" % n))
    # AH-CRED-002
    p = attack("AH-CRED-002", "harvester")
    emit(p, at(1), LK, rid("rg-app", "Microsoft.Storage/storageAccounts/stapp"))
    emit(p, at(3), "Microsoft.Web/sites/publishxml/action", rid("rg-app", "Microsoft.Web/sites/webapp1"))
    emit(p, at(5), "Microsoft.ContainerRegistry/registries/listCredentials/action", rid("rg-app", "Microsoft.ContainerRegistry/registries/acr1"))
    p = lookalike("AH-CRED-002", "webdev")
    emit(p, at(1), "Microsoft.Web/sites/publishxml/action", rid("rg-app", "Microsoft.Web/sites/webapp1"))
    emit(p, at(2), "Microsoft.Web/sites/config/list/action", rid("rg-app", "Microsoft.Web/sites/webapp1/config/appsettings"))
    emit(p, at(3), "Microsoft.Web/sites/host/listkeys/action", rid("rg-app", "Microsoft.Web/sites/webapp1/host/default"))
    # AH-CRED-003
    AP = "Microsoft.KeyVault/vaults/accessPolicies/write"
    p = attack("AH-CRED-003", "kvflipper")
    emit(p, at(1), AP, rid("rg-sec", "Microsoft.KeyVault/vaults/kv-prod/accessPolicies/add"))
    emit(p, at(4), AP, rid("rg-sec", "Microsoft.KeyVault/vaults/kv-prod/accessPolicies/remove"))
    p = lookalike("AH-CRED-003", "kvadmin")
    emit(p, at(1), AP, rid("rg-sec", "Microsoft.KeyVault/vaults/kv-prod/accessPolicies/add"))
    # AH-CRED-004
    EXT = "Microsoft.Compute/virtualMachines/extensions/write"
    p = attack("AH-CRED-004", "pwreset")
    emit(p, at(1), EXT, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-01/extensions/enablevmaccess"),
         req={"properties": {"publisher": "Microsoft.Compute", "type": "VMAccessAgent", "settings": {"UserName": "support2"}}}, started=True)
    p = lookalike("AH-CRED-004", "bginfo")
    emit(p, at(1), EXT, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-01/extensions/bginfo"),
         req={"properties": {"publisher": "Microsoft.Compute", "type": "BGInfo"}}, started=True)
    # AH-EXEC-001 / 002
    RC = "Microsoft.Compute/virtualMachines/runCommand/action"
    p = attack("AH-EXEC-001", "bulkcmd")
    for n in range(4):
        emit(p, at(1 + n), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-fleet-%02d" % n), started=True, status="Accepted", sub_status="Accepted")
    p = lookalike("AH-EXEC-001", "patcher")
    for n in range(2):
        emit(p, at(1 + n), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-fleet-%02d" % n), started=True)
    p = attack("AH-EXEC-002", "runtwice")
    emit(p, at(1), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-app-01"))
    emit(p, at(3), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-app-01"))
    p = lookalike("AH-EXEC-002", "dailyjob")
    emit(p, at(1), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-app-01"))
    emit(p, at(38), RC, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-app-01"))
    # AH-EXEC-003
    arc = rid("rg-onprem", "Microsoft.HybridCompute/machines/srv-dc01/runCommands/QwErTyUiOpAsDfG")
    p = attack("AH-EXEC-003", "arcrunner")
    emit(p, at(1), "Microsoft.HybridCompute/machines/runCommands/write", arc)
    emit(p, at(6), "Microsoft.HybridCompute/machines/runCommands/delete", arc)
    p = lookalike("AH-EXEC-003", "arcops")
    emit(p, at(1), "Microsoft.HybridCompute/machines/runCommands/write", rid("rg-onprem", "Microsoft.HybridCompute/machines/srv-dc01/runCommands/inventory"))
    # AH-EXEC-004
    reg = rid("rg-app", "Microsoft.ContainerRegistry/registries/acr1")
    p = attack("AH-EXEC-004", "acrtoken")
    emit(p, at(1), "Microsoft.ContainerRegistry/registries/tasks/write", reg + "/tasks/ZxCvBnMaSdFgHjK")
    emit(p, at(2), "Microsoft.ContainerRegistry/registries/scheduleRun/action", reg)
    emit(p, at(4), "Microsoft.ContainerRegistry/registries/tasks/delete", reg + "/tasks/ZxCvBnMaSdFgHjK")
    p = lookalike("AH-EXEC-004", "acrbuild")
    emit(p, at(1), "Microsoft.ContainerRegistry/registries/tasks/write", reg + "/tasks/nightly-build")
    # AH-EXEC-005
    ds = rid("rg-app", "Microsoft.Resources/deploymentScripts/PlOkIjUhYgTfRdE")
    p = attack("AH-EXEC-005", "dsrunner")
    emit(p, at(1), "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", rid("rg-app", "Microsoft.ManagedIdentity/userAssignedIdentities/deploy-admin"))
    emit(p, at(1, 10), "Microsoft.Resources/deploymentScripts/write", ds)
    emit(p, at(7), "Microsoft.Resources/deploymentScripts/delete", ds)
    p = lookalike("AH-EXEC-005", "bicepdeploy")
    emit(p, at(1), "Microsoft.Resources/deploymentScripts/write", rid("rg-app", "Microsoft.Resources/deploymentScripts/configure-dns"))
    # AH-EXEC-006
    aks = rid("rg-k8s", "Microsoft.ContainerService/managedClusters/aks-prod")
    node = "/subscriptions/%s/resourceGroups/MC_rg-k8s_aks-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-123/virtualMachines/0" % SCN_SUB
    p = attack("AH-EXEC-006", "aksthief")
    emit(p, at(1), "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", aks)
    emit(p, at(5), "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action", node)
    p = lookalike("AH-EXEC-006", "aksadmin")
    emit(p, at(1), "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", aks)
    # AH-EXEC-007
    p = attack("AH-EXEC-007", "csedropper")
    emit(p, at(1), EXT, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-02/extensions/cse"),
         req={"properties": {"publisher": "Microsoft.Compute", "type": "CustomScriptExtension",
                             "settings": {"commandToExecute": "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"}}}, started=True)
    p = lookalike("AH-EXEC-007", "cseadmin")
    emit(p, at(1), EXT, rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-02/extensions/cse"),
         req={"properties": {"publisher": "Microsoft.Compute", "type": "CustomScriptExtension",
                             "settings": {"fileUris": ["https://corpscripts.blob.core.windows.net/s/setup.ps1"], "commandToExecute": "powershell -File setup.ps1"}}}, started=True)
    # AH-PERS-001 / 002
    aa = rid("rg-auto", "Microsoft.Automation/automationAccounts/aa-prod")
    p = attack("AH-PERS-001", "runbookrunner")
    emit(p, at(1), "Microsoft.Automation/automationAccounts/runbooks/write", aa + "/runbooks/MnBvCxZlKjHgFdS")
    emit(p, at(2), "Microsoft.Automation/automationAccounts/runbooks/draft/content/write", aa + "/runbooks/MnBvCxZlKjHgFdS/draft/content")
    emit(p, at(3), "Microsoft.Automation/automationAccounts/runbooks/publish/action", aa + "/runbooks/MnBvCxZlKjHgFdS")
    emit(p, at(4), "Microsoft.Automation/automationAccounts/jobs/write", aa + "/jobs/" + g.guid())
    emit(p, at(8), "Microsoft.Automation/automationAccounts/runbooks/delete", aa + "/runbooks/MnBvCxZlKjHgFdS")
    p = lookalike("AH-PERS-001", "automationdev")
    emit(p, at(1), "Microsoft.Automation/automationAccounts/runbooks/write", aa + "/runbooks/Rotate-Certificates")
    emit(p, at(3), "Microsoft.Automation/automationAccounts/runbooks/publish/action", aa + "/runbooks/Rotate-Certificates")
    emit(p, at(4), "Microsoft.Automation/automationAccounts/jobs/write", aa + "/jobs/" + g.guid())
    p = attack("AH-PERS-002", "webhookpersist")
    emit(p, at(1), "Microsoft.Automation/automationAccounts/runbooks/write", aa + "/runbooks/AzureAutomationTutorialPowerShell")
    emit(p, at(2), "Microsoft.Automation/automationAccounts/runbooks/publish/action", aa + "/runbooks/AzureAutomationTutorialPowerShell")
    emit(p, at(3), "Microsoft.Automation/automationAccounts/webhooks/write", aa + "/webhooks/AzureAutomationTutorialPowerShell")
    p = lookalike("AH-PERS-002", "integrator")
    emit(p, at(3), "Microsoft.Automation/automationAccounts/webhooks/write", aa + "/webhooks/servicenow-trigger")
    # AH-PERS-003
    vm = rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-03")
    p = attack("AH-PERS-003", "mibackdoor")
    emit(p, at(1), "Microsoft.Compute/virtualMachines/write", vm, req={"identity": {"type": "SystemAssigned"}}, started=True)
    emit(p, at(3), "Microsoft.Authorization/roleAssignments/write", "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (SCN_SUB, g.guid()))
    emit(p, at(5), "Microsoft.Network/networkSecurityGroups/securityRules/write", rid("rg-web", "Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/allow-80"),
         resp={"properties": {"access": "Allow", "direction": "Inbound", "sourceAddressPrefix": "Internet", "destinationPortRange": "80"}})
    emit(p, at(7), RC, vm)
    p = lookalike("AH-PERS-003", "vmowner")
    emit(p, at(1), "Microsoft.Compute/virtualMachines/write", vm, req={"tags": {"owner": "team-a"}}, started=True)
    emit(p, at(7), RC, vm)
    # AH-PERS-004
    vm4 = rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-04")
    p = attack("AH-PERS-004", "userdatac2")
    for n in range(4):
        emit(p, at(1 + 2 * n), "Microsoft.Compute/virtualMachines/write", vm4, req={"properties": {"userData": "Y21kIC9jIHdob2FtaQ=="}}, started=True)
    p = lookalike("AH-PERS-004", "vmresizer")
    for n in range(2):
        emit(p, at(1 + 5 * n), "Microsoft.Compute/virtualMachines/write", vm4, req={"properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v5"}}}, started=True)
    # AH-PRIV-001..004
    RA = "Microsoft.Authorization/roleAssignments/write"
    OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

    def ra_body(role, ptype, scope):
        return {"properties": {"roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SCN_SUB, role),
                               "principalId": g.guid(), "principalType": ptype, "scope": scope}}
    p = attack("AH-PRIV-001", "elevator")
    emit(p, at(1), "Microsoft.Authorization/elevateAccess/action", "/providers/Microsoft.Authorization/elevateAccess")
    emit(p, at(4), RA, "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (SCN_SUB, g.guid()),
         req=ra_body(OWNER, "User", "/subscriptions/%s" % SCN_SUB), started=True, sub_status="Created")
    expected["attacks"][p["upn"]].append("AH-PRIV-002")
    p = attack("AH-PRIV-002", "spowner")
    emit(p, at(1), RA, "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (SCN_SUB, g.guid()),
         req=ra_body(OWNER, "ServicePrincipal", "/subscriptions/%s" % SCN_SUB), started=True, sub_status="Created")
    p = lookalike("AH-PRIV-002", "readergranter")
    emit(p, at(1), RA, "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (SCN_SUB, g.guid()),
         req=ra_body(READER, "User", "/subscriptions/%s" % SCN_SUB), started=True, sub_status="Created")
    RD = "Microsoft.Authorization/roleDefinitions/write"
    p = attack("AH-PRIV-003", "rolemaker")
    emit(p, at(1), RD, "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SCN_SUB, g.guid()),
         req={"properties": {"roleName": "Helpdesk Operator", "permissions": [{"actions": ["*"], "notActions": []}], "assignableScopes": ["/subscriptions/%s" % SCN_SUB]}}, started=True)
    p = lookalike("AH-PRIV-003", "rolereader")
    emit(p, at(1), RD, "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (SCN_SUB, g.guid()),
         req={"properties": {"roleName": "Read Only Plus", "permissions": [{"actions": ["*/read"]}], "assignableScopes": ["/subscriptions/%s" % SCN_SUB]}}, started=True)
    p = attack("AH-PRIV-004", "coadmin")
    emit(p, at(1), "Microsoft.Authorization/classicAdministrators/write", "/subscriptions/%s/providers/Microsoft.Authorization/classicAdministrators/%s" % (SCN_SUB, g.guid()))
    p = lookalike("AH-PRIV-004", "coadminfail")
    emit(p, at(1), "Microsoft.Authorization/classicAdministrators/write", "/subscriptions/%s/providers/Microsoft.Authorization/classicAdministrators/%s" % (SCN_SUB, g.guid()), status="Failed", sub_status="Forbidden")
    # AH-EVAS-001..003
    am = rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-05/extensions/IaaSAntimalware")
    p = attack("AH-EVAS-001", "avkiller")
    emit(p, at(1), EXT, am, req={"properties": {"publisher": "Microsoft.Azure.Security", "type": "IaaSAntimalware", "settings": {"AntimalwareEnabled": False}}}, started=True)
    p = lookalike("AH-EVAS-001", "avtuner")
    emit(p, at(1), EXT, am, req={"properties": {"publisher": "Microsoft.Azure.Security", "type": "IaaSAntimalware",
                                                "settings": {"AntimalwareEnabled": True, "RealtimeProtectionEnabled": "true", "Exclusions": {"Paths": "D:\\SQLData"}}}}, started=True)
    pr = "/subscriptions/%s/providers/Microsoft.Security/pricings/VirtualMachines" % SCN_SUB
    p = attack("AH-EVAS-002", "defenderoff")
    emit(p, at(1), "Microsoft.Security/pricings/write", pr, req={"properties": {"pricingTier": "Free"}}, started=True)
    p = lookalike("AH-EVAS-002", "defenderon")
    emit(p, at(1), "Microsoft.Security/pricings/write", pr, req={"properties": {"pricingTier": "Standard"}}, started=True)
    diag = "/subscriptions/%s/providers/microsoft.insights/diagnosticSettings/to-sentinel" % SCN_SUB
    p = attack("AH-EVAS-003", "logkiller")
    emit(p, at(1), "Microsoft.Insights/diagnosticSettings/delete", diag, started=True)
    p = lookalike("AH-EVAS-003", "logadmin")
    emit(p, at(1), "Microsoft.Insights/diagnosticSettings/write", diag, req={"properties": {"logs": []}}, started=True)
    # AH-INIT-001..003
    nsg = rid("rg-web", "Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/%s")
    p = attack("AH-INIT-001", "rdpopener")
    emit(p, at(1), "Microsoft.Network/networkSecurityGroups/securityRules/write", nsg % "allow-rdp", started=True,
         resp={"properties": {"access": "Allow", "direction": "Inbound", "sourceAddressPrefix": "*", "destinationPortRange": "3389", "priority": 100}})
    p = lookalike("AH-INIT-001", "webopener")
    emit(p, at(1), "Microsoft.Network/networkSecurityGroups/securityRules/write", nsg % "allow-https", started=True,
         resp={"properties": {"access": "Allow", "direction": "Inbound", "sourceAddressPrefix": "Internet", "destinationPortRange": "443", "priority": 110}})
    fw = rid("rg-db", "Microsoft.Sql/servers/sql-prod/firewallRules/%s")
    p = attack("AH-INIT-002", "sqlopener")
    emit(p, at(1), "Microsoft.Sql/servers/firewallRules/write", fw % "all", req={"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}}, started=True)
    p = lookalike("AH-INIT-002", "sqlazure")
    emit(p, at(1), "Microsoft.Sql/servers/firewallRules/write", fw % "AllowAllWindowsAzureIps", req={"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}, started=True)
    st = rid("rg-data", "Microsoft.Storage/storageAccounts/stpublic")
    p = attack("AH-INIT-003", "publicblob")
    emit(p, at(1), "Microsoft.Storage/storageAccounts/write", st, req={"properties": {"allowBlobPublicAccess": True}}, started=True)
    p = lookalike("AH-INIT-003", "privateblob")
    emit(p, at(1), "Microsoft.Storage/storageAccounts/write", st, req={"properties": {"allowBlobPublicAccess": False, "minimumTlsVersion": "TLS1_2"}}, started=True)
    # AH-LATM-001..006
    snap = rid("rg-web", "Microsoft.Compute/snapshots/vm-web-01-os-snap")
    p = attack("AH-LATM-001", "diskthief")
    emit(p, at(1), "Microsoft.Compute/snapshots/write", snap, started=True)
    emit(p, at(4), "Microsoft.Compute/snapshots/beginGetAccess/action", snap)
    p = lookalike("AH-LATM-001", "snapshotter")
    emit(p, at(1), "Microsoft.Compute/snapshots/write", snap, started=True)
    p = attack("AH-LATM-002", "sasminter")
    emit(p, at(1), "Microsoft.Storage/storageAccounts/listAccountSas/action", rid("rg-data", "Microsoft.Storage/storageAccounts/stdata00"))
    site = rid("rg-app", "Microsoft.Web/sites/webapp2")
    p = attack("AH-LATM-003", "publisher")
    emit(p, at(1), "Microsoft.Web/sites/publishxml/action", site)
    p = lookalike("AH-LATM-003", "scmhardener")
    emit(p, at(1), "Microsoft.Web/sites/basicPublishingCredentialsPolicies/write", site + "/basicPublishingCredentialsPolicies/scm", req={"properties": {"allow": False}}, started=True)
    bh = rid("rg-net", "Microsoft.Network/bastionHosts/bastion1")
    p = attack("AH-LATM-004", "bastionlink")
    emit(p, at(1), "Microsoft.Network/bastionHosts/createShareableLinks/action", bh)
    p = lookalike("AH-LATM-004", "bastiondenied")
    emit(p, at(1), "Microsoft.Network/bastionHosts/createShareableLinks/action", bh, status="Failed", sub_status="Forbidden")
    p = attack("AH-LATM-005", "serialuser")
    emit(p, at(1), "Microsoft.SerialConsole/serialPorts/connect/action", rid("rg-web", "Microsoft.Compute/virtualMachines/vm-web-01/providers/Microsoft.SerialConsole/serialPorts/0"))
    kv = rid("rg-sec", "Microsoft.KeyVault/vaults/kv-old")
    deleter = actor("vaultcleaner")
    emit(deleter, at(1), "Microsoft.KeyVault/vaults/delete", kv)
    p = attack("AH-LATM-006", "vaultrecoverer")
    emit(p, at(10), "Microsoft.KeyVault/vaults/write", kv, req={"location": "westeurope", "properties": {"createMode": "recover"}}, started=True)
    expected["attacks"][deleter["upn"]] = ["AH-IMPA-003"]
    kv2 = rid("rg-sec", "Microsoft.KeyVault/vaults/kv-mistake")
    p = lookalike("AH-LATM-006", "vaultrestorer")
    emit(p, at(1), "Microsoft.KeyVault/vaults/delete", kv2)
    emit(p, at(5), "Microsoft.KeyVault/vaults/write", kv2, req={"properties": {"createMode": "recover"}}, started=True)
    # AH-IMPA-001..003
    p = attack("AH-IMPA-001", "wiper")
    for n in range(15):
        emit(p, at(1, n * 10), "Microsoft.Compute/disks/delete", rid("rg-web", "Microsoft.Compute/disks/disk-%02d" % n), started=True)
    p = lookalike("AH-IMPA-001", "cleanup")
    for n in range(8):
        emit(p, at(1, n * 10), "Microsoft.Compute/disks/delete", rid("rg-test", "Microsoft.Compute/disks/tmp-%02d" % n), started=True)
    gpu = rid("rg-ml", "Microsoft.Compute/virtualMachines/gpu-%s")
    p = attack("AH-IMPA-002", "miner")
    emit(p, at(1), "Microsoft.Compute/virtualMachines/write", gpu % "miner01", req={"properties": {"hardwareProfile": {"vmSize": "Standard_NC24ads_A100_v4"}}}, started=True)
    p = lookalike("AH-IMPA-002", "smallvm")
    emit(p, at(1), "Microsoft.Compute/virtualMachines/write", gpu % "small01", req={"properties": {"hardwareProfile": {"vmSize": "Standard_B2s"}}}, started=True)
    p = attack("AH-IMPA-003", "rgdeleter")
    emit(p, at(1), "Microsoft.Resources/subscriptions/resourceGroups/delete", "/subscriptions/%s/resourceGroups/rg-prod-data" % SCN_SUB, started=True)
    p = lookalike("AH-IMPA-003", "rgdenied")
    emit(p, at(1), "Microsoft.Resources/subscriptions/resourceGroups/delete", "/subscriptions/%s/resourceGroups/rg-prod-data" % SCN_SUB, status="Failed", sub_status="Forbidden")

    # Benign background: everyday writes by a few administrators and an automation SP.
    benign = [actor("alice", APP_PORTAL), actor("bob", APP_CLI), make_principal(g, app=g.guid(), sp=True, name="nightly-automation")]
    benign_ops = [
        ("Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/vm-web-%02d"),
        ("Microsoft.Compute/virtualMachines/deallocate/action", "Microsoft.Compute/virtualMachines/vm-web-%02d"),
        ("Microsoft.Resources/deployments/write", "Microsoft.Resources/deployments/deploy-%02d"),
        ("Microsoft.Web/sites/restart/action", "Microsoft.Web/sites/webapp%02d"),
        ("Microsoft.Network/publicIPAddresses/write", "Microsoft.Network/publicIPAddresses/pip-%02d"),
    ]
    for n in range(120):
        p = benign[n % len(benign)]
        op, path = benign_ops[n % len(benign_ops)]
        t = (base + dt.timedelta(minutes=17 * n + 3), 0)
        emit(p, t, op, rid("rg-ops", path % (n % 7)), started=True)
    expected["benign"].extend(b["upn"] or b["oid"] for b in benign)

    # AH-INTL-001 / 002: operations from addresses on the IOC lists of
    # tests/data/ioc (scan --ioc), and look-alikes from the neighbouring
    # unlisted addresses. After the background, so that every earlier event
    # keeps its ids and times.
    DEP = "Microsoft.Resources/deployments/write"
    START = "Microsoft.Compute/virtualMachines/start/action"
    p = attack("AH-INTL-001", "stolentoken")
    emit(p, at(1), DEP, rid("rg-ops", "Microsoft.Resources/deployments/deploy-ioc"), started=True, ip="198.51.100.23")
    emit(p, at(5), START, rid("rg-ops", "Microsoft.Compute/virtualMachines/vm-web-01"), ip="198.51.100.23")
    p = attack("AH-INTL-001", "tokenreplay")
    emit(p, at(1), START, rid("rg-ops", "Microsoft.Compute/virtualMachines/vm-web-02"), token_ip="2001:db8:bad::17")
    p = lookalike("AH-INTL-001", "neighbour")
    emit(p, at(1), DEP, rid("rg-ops", "Microsoft.Resources/deployments/deploy-near"), started=True, ip="198.51.101.23")
    p = attack("AH-INTL-002", "torrider")
    emit(p, at(1), START, rid("rg-ops", "Microsoft.Compute/virtualMachines/vm-web-03"), ip="192.0.2.77")
    emit(p, at(9), START, rid("rg-ops", "Microsoft.Compute/virtualMachines/vm-web-04"), ip="192.0.2.99", status="Failed", sub_status="Forbidden")
    p = lookalike("AH-INTL-002", "torneighbour")
    emit(p, at(1), START, rid("rg-ops", "Microsoft.Compute/virtualMachines/vm-web-03"), ip="192.0.2.78")
    out.sort(key=lambda e: (e["t"][0], e["t"][1]))
    return out, expected


def write_tree(root, evs, expected):
    """Writes events as a storage-account export tree (hourly PT1H.json
    files of the scenario subscription) plus expected.json."""
    by_hour = {}
    for e in evs:
        h = e["t"][0].replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(h, []).append(e)
    for h, es in sorted(by_hour.items()):
        path = os.path.join(root, "insights-activity-logs/resourceId=/SUBSCRIPTIONS/%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json"
                            % (SCN_SUB.upper(), h.year, h.month, h.day, h.hour))
        write(path, "".join(compact(render_resource_log(e)) + "\n" for e in es).encode())
    write(os.path.join(root, "expected.json"), (json.dumps(expected, indent=2, sort_keys=True) + "\n").encode())


def write_scenarios(root):
    write_tree(root, *scenario_events())


def baseline_events():
    """Six weeks of one subscription for the behaviour-baseline rules: the
    first five weeks are the baseline, the last seven days the detection
    period (scan's default split). Every AH-ANOM rule has an attack in the
    detection period and a look-alike that must not fire it. The addresses
    are documentation ranges that the tests' own GeoIP database places:
    203.0.113.0/24 Amsterdam NL, 192.0.2.0/24 Rotterdam NL, 20.50.1.0/24
    Frankfurt DE, 20.60.1.0/24 Boydton US, 198.51.100.0/24 Sao Paulo BR."""
    g = Gen(11)
    base = dt.datetime(2024, 4, 1, 0, 0, 0, tzinfo=dt.timezone.utc)
    out = []
    expected = {"attacks": {}, "lookalikes": {}, "benign": []}

    def user(name, app=APP_PORTAL):
        return make_principal(g, upn="%s@contoso.com" % name, app=app, name=name)

    def sp(name):
        return make_principal(g, app=g.guid(), sp=True, name=name)

    def key(p):
        return p["upn"] or p["oid"]

    def at(day, hour, minute=0):
        return (base + dt.timedelta(days=day, hours=hour, minutes=minute), 0)

    def emit(p, t, op, res, ip, app=None, status="Succeeded", sub_status="OK", token_ip=None, started=False):
        opdef = (op, op.split("/")[-2] + " " + op.split("/")[-1], "POST", "/".join(op.split("/")[:2]))
        who = dict(p, app=app) if app else p
        corr = g.guid()
        if started:
            e0 = make_event(g, t, SCN_SUB, who, ip, opdef, "rg", "x", status="Started", sub_status="", corr=corr)
            e0["rid"] = res
            if token_ip is not None:
                e0["claims"]["ipaddr"] = token_ip
            out.append(e0)
            t = (t[0] + dt.timedelta(seconds=3), t[1])
        e = make_event(g, t, SCN_SUB, who, ip, opdef, "rg", "x", status=status, sub_status=sub_status, corr=corr)
        e["rid"] = res
        if token_ip is not None:
            e["claims"]["ipaddr"] = token_ip
        out.append(e)

    VMS = "Microsoft.Compute/virtualMachines/%s"
    START = "Microsoft.Compute/virtualMachines/start/action"
    DEALLOC = "Microsoft.Compute/virtualMachines/deallocate/action"
    DEPLOY = "Microsoft.Resources/deployments/write"
    RA = "Microsoft.Authorization/roleAssignments/write"
    LK = "Microsoft.Storage/storageAccounts/listKeys/action"
    RUN = "Microsoft.Compute/virtualMachines/runCommand/action"
    VMW = "Microsoft.Compute/virtualMachines/write"
    SNAPW = "Microsoft.Compute/snapshots/write"
    SNAPD = "Microsoft.Compute/snapshots/delete"

    def ra_id(n):
        return "/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments/%s" % (SCN_SUB, n)

    def routine(p, days, ip, app=None, hour=9, op=START, vm="vm-%s"):
        for d in days:
            if (base + dt.timedelta(days=d)).weekday() >= 5:
                continue
            emit(p, at(d, hour, g.r.randint(0, 50)), op, rid("rg-ops", VMS % (vm % key(p).split("@")[0])), ip, app=app)

    BASE_DAYS = range(0, 35)
    ALL_DAYS = range(0, 42)

    # Benign background: administrators and a nightly automation, every
    # working day of the six weeks (the automation every night).
    alice, bob = user("alice"), user("bob", APP_CLI)
    routine(alice, ALL_DAYS, "203.0.113.10")
    routine(bob, ALL_DAYS, "203.0.113.11", hour=14, op=DEALLOC)
    expected["benign"] += [key(alice), key(bob)]

    nightly = sp("nightly-snapshots")
    for d in ALL_DAYS:
        for n in range(4):
            emit(nightly, at(d, 2, n), SNAPW, rid("rg-backup", "Microsoft.Compute/snapshots/snap-%03d-%d" % (d, n)), "20.50.1.10")
            emit(nightly, at(d, 2, 10 + n), SNAPD, rid("rg-backup", "Microsoft.Compute/snapshots/snap-%03d-%d" % (d - 1, n)), "20.50.1.10")
    expected["lookalikes"][key(nightly)] = ["AH-ANOM-004", "AH-ANOM-005", "AH-ANOM-007"]

    def attack(p, rule):
        expected["attacks"].setdefault(key(p), []).append(rule)

    def lookalike(p, rule):
        expected["lookalikes"].setdefault(key(p), []).append(rule)

    # AH-ANOM-001: a portal-only user assigns a role through PowerShell.
    p = user("psuser")
    routine(p, BASE_DAYS, "203.0.113.20")
    emit(p, at(37, 10), RA, ra_id("aa01"), "203.0.113.20", app=APP_PWSH, started=True)
    attack(p, "AH-ANOM-001")
    p = user("portaladmin")
    routine(p, BASE_DAYS, "203.0.113.21")
    emit(p, at(12, 11), RA, ra_id("aa02"), "203.0.113.21", started=True)
    emit(p, at(37, 11), RA, ra_id("aa03"), "203.0.113.21", started=True)
    lookalike(p, "AH-ANOM-001")

    # AH-ANOM-002: an account silent for four weeks assigns a role.
    p = user("dormant")
    routine(p, range(0, 8), "203.0.113.22")
    emit(p, at(38, 8), RA, ra_id("aa04"), "203.0.113.22", started=True)
    attack(p, "AH-ANOM-002")
    p = user("vacation")
    routine(p, range(0, 25), "203.0.113.23")
    emit(p, at(10, 11), RA, ra_id("aa05"), "203.0.113.23", started=True)
    emit(p, at(38, 8), RA, ra_id("aa06"), "203.0.113.23", started=True)
    lookalike(p, "AH-ANOM-002")

    # AH-ANOM-003: a user who never touched credentials lists storage keys;
    # the look-alike lists them every week.
    p = user("novice")
    routine(p, BASE_DAYS, "203.0.113.24")
    emit(p, at(39, 10), LK, rid("rg-data", "Microsoft.Storage/storageAccounts/stfinance"), "203.0.113.24")
    attack(p, "AH-ANOM-003")
    p = user("keyuser")
    routine(p, BASE_DAYS, "203.0.113.25")
    for d in range(0, 42, 7):
        emit(p, at(d, 10), LK, rid("rg-data", "Microsoft.Storage/storageAccounts/stapp"), "203.0.113.25")
    lookalike(p, "AH-ANOM-003")

    # AH-ANOM-004: a deployment identity starts assigning roles.
    p = sp("deploy-pipeline")
    for d in BASE_DAYS:
        emit(p, at(d, 6), DEPLOY, rid("rg-app", "Microsoft.Resources/deployments/release-%03d" % d), "20.50.1.11")
    emit(p, at(36, 6), RA, ra_id("aa07"), "20.50.1.11", started=True)
    attack(p, "AH-ANOM-004")

    # AH-ANOM-005: run command from a network never used; the look-alike
    # works from a new home address but only starts machines.
    p = user("operator")
    for d in BASE_DAYS:
        if (base + dt.timedelta(days=d)).weekday() < 5:
            emit(p, at(d, 11), RUN, rid("rg-ops", VMS % "vm-jump"), "203.0.113.26")
    emit(p, at(38, 23), RUN, rid("rg-ops", VMS % "vm-jump"), "198.51.100.50")
    attack(p, "AH-ANOM-005")
    p = user("homeworker")
    routine(p, BASE_DAYS, "203.0.113.27")
    routine(p, range(35, 42), "192.0.2.50")
    lookalike(p, "AH-ANOM-005")
    lookalike(p, "AH-ANOM-006")
    lookalike(p, "AH-ANOM-008")

    # AH-ANOM-006: a token issued at the office used from elsewhere; the
    # look-alike is a dual-stack client (IPv6 token, IPv4 call).
    p = user("replayed")
    routine(p, BASE_DAYS, "203.0.113.28")
    emit(p, at(39, 15), START, rid("rg-ops", VMS % "vm-replayed"), "198.51.100.60", token_ip="203.0.113.28")
    attack(p, "AH-ANOM-006")
    p = user("dualstack")
    routine(p, BASE_DAYS, "203.0.113.29")
    emit(p, at(39, 15), START, rid("rg-ops", VMS % "vm-dualstack"), "203.0.113.29", token_ip="2001:db8:1::29")
    lookalike(p, "AH-ANOM-006")

    # AH-ANOM-007: eight VMs in a day by a user who made one now and then;
    # a permission sweep of refused operations.
    p = user("miner")
    routine(p, BASE_DAYS, "203.0.113.30")
    for d in (5, 20):
        emit(p, at(d, 10), VMW, rid("rg-ops", VMS % ("vm-m%d" % d)), "203.0.113.30", started=True)
    for n in range(8):
        emit(p, at(40, 1, n * 3), VMW, rid("rg-ml", VMS % ("node-%02d" % n)), "203.0.113.30", started=True)
    attack(p, "AH-ANOM-007")
    p = user("prober")
    routine(p, BASE_DAYS, "203.0.113.31")
    probes = ["Microsoft.KeyVault/vaults/write", "Microsoft.Storage/storageAccounts/listKeys/action",
              "Microsoft.Authorization/roleAssignments/write", "Microsoft.Web/sites/config/list/action",
              "Microsoft.Compute/virtualMachines/runCommand/action"]
    for n in range(20):
        op = probes[n % len(probes)]
        emit(p, at(40, 3, n), op, rid("rg-p%d" % (n // len(probes)), op.split("/")[0] + "/" + op.split("/")[1] + "/t%d" % n),
             "203.0.113.31", status="Failed", sub_status="Forbidden")
    attack(p, "AH-ANOM-007")

    # AH-ANOM-008 (with --geoip): a call from a country nobody used; the
    # look-alike calls from Germany, which the deployment identity uses.
    p = user("abroad")
    routine(p, BASE_DAYS, "203.0.113.32")
    emit(p, at(37, 16), START, rid("rg-ops", VMS % "vm-abroad"), "198.51.100.80")
    attack(p, "AH-ANOM-008")
    p = user("visitor")
    routine(p, BASE_DAYS, "203.0.113.33")
    emit(p, at(37, 16), START, rid("rg-ops", VMS % "vm-visitor"), "20.50.1.99")
    lookalike(p, "AH-ANOM-008")

    # AH-ANOM-009 (with --geoip): Amsterdam then Sao Paulo 40 minutes later;
    # the look-alikes go to Rotterdam, or are a service principal in two
    # cloud regions.
    p = user("jetsetter")
    routine(p, BASE_DAYS, "203.0.113.34")
    emit(p, at(38, 9), START, rid("rg-ops", VMS % "vm-jet"), "203.0.113.34")
    emit(p, at(38, 9, 40), DEALLOC, rid("rg-ops", VMS % "vm-jet"), "198.51.100.90")
    attack(p, "AH-ANOM-009")
    p = user("commuter")
    routine(p, BASE_DAYS, "203.0.113.35")
    emit(p, at(38, 9), START, rid("rg-ops", VMS % "vm-commute"), "203.0.113.35")
    emit(p, at(38, 9, 10), DEALLOC, rid("rg-ops", VMS % "vm-commute"), "192.0.2.35")
    lookalike(p, "AH-ANOM-009")
    p = sp("multi-region")
    for d in ALL_DAYS:
        emit(p, at(d, 4), DEPLOY, rid("rg-global", "Microsoft.Resources/deployments/eu-%03d" % d), "20.50.1.12")
        emit(p, at(d, 4, 5), DEPLOY, rid("rg-global", "Microsoft.Resources/deployments/us-%03d" % d), "20.60.1.12")
    lookalike(p, "AH-ANOM-009")

    out.sort(key=lambda e: (e["t"][0], e["t"][1]))
    return out, expected


def write_baseline(root):
    write_tree(root, *baseline_events())

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    s = sp.add_parser("samples")
    s.add_argument("dir")
    c = sp.add_parser("scenarios")
    c.add_argument("dir")
    bl = sp.add_parser("baseline", help="six weeks for the behaviour-baseline rules")
    bl.add_argument("dir")
    b = sp.add_parser("bulk")
    b.add_argument("--dialect", default="storage")
    b.add_argument("--size", default="64MiB")
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--files", type=int, default=2000, help="hourly files (storage dialect)")
    a = ap.parse_args()
    if a.cmd == "samples":
        write_samples(a.dir)
    elif a.cmd == "scenarios":
        write_scenarios(a.dir)
    elif a.cmd == "baseline":
        write_baseline(a.dir)
    else:
        bulk(a)


if __name__ == "__main__":
    main()
