#!/usr/bin/env python3
"""Deterministic generator of Azure Activity Log exports in every dialect.

Two uses:

  gen.py samples DIR
      writes the bundled samples: the same handful of events in each
      dialect armhunt reads (one file per dialect, plus .gz and .zip).

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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    s = sp.add_parser("samples")
    s.add_argument("dir")
    b = sp.add_parser("bulk")
    b.add_argument("--dialect", default="storage")
    b.add_argument("--size", default="64MiB")
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--files", type=int, default=2000, help="hourly files (storage dialect)")
    a = ap.parse_args()
    if a.cmd == "samples":
        write_samples(a.dir)
    else:
        bulk(a)


if __name__ == "__main__":
    main()
