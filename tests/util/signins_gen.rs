//! Writes Entra sign-in log exports the way Microsoft documents them (the portal's
//! CSV with its real 56-column header, the portal's JSON download, Microsoft Graph
//! `auditLogs/signIns` pages with `@odata.nextLink`), from made-up sign-ins: users
//! of contoso.com and addresses of the documentation ranges (192.0.2.0/24,
//! 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32). Used by the tests and by the
//! benchmark's generator (examples/signins_export.rs).
#![allow(dead_code)]

use std::fmt::Write as _;

/// The header line of an interactive (and non-interactive) CSV export, exactly:
/// `Application ID ` and `Resource ID ` end with a space, `Autonomous system  number`
/// has two, `Incoming token type` appears twice.
pub const CSV_HEADER: &str = "Date (UTC),Request ID,User agent,Correlation ID,User ID,User,Username,User type,Cross tenant access type,Incoming token type,Authentication Protocol,Unique token identifier,Original transfer method,Client credential type,Token Protection - Sign In Session,Token Protection - Sign In Session StatusCode,Application,Application ID ,App owner tenant ID,Resource,Resource ID ,Resource tenant ID,Resource owner tenant ID,Home tenant ID,Home tenant name,IP address,Location,Status,Sign-in error code,Failure reason,Client app,Device ID,Browser,Operating System,Compliant,Managed,Join Type,Multifactor authentication result,Multifactor authentication auth method,Multifactor authentication auth detail,Authentication requirement,Sign-in identifier,Session ID,IP address (seen by resource),Through Global Secure Access,Global Secure Access IP address,Autonomous system  number,Flagged for review,Token issuer type,Incoming token type,Token issuer name,Latency,Conditional Access,Managed Identity type,Associated Resource Id,Federated Token Id,Federated Token Issuer";

pub const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";

/// One made-up sign-in.
#[derive(Debug, Clone)]
pub struct Row {
    pub time: String,
    pub upn: String,
    pub display: String,
    pub client_app: String,
    pub ip: String,
    pub city: String,
    pub country: String,
    pub code: u32,
    pub reason: String,
    pub user_agent: String,
    /// "success", "failure" or "notApplied".
    pub ca: String,
}

impl Row {
    pub fn new(time: &str, upn: &str, client_app: &str, ip: &str, country: &str, code: u32) -> Row {
        let local = upn.split('@').next().unwrap_or(upn);
        Row {
            time: time.into(),
            upn: upn.into(),
            display: format!("{local} (display)"),
            client_app: client_app.into(),
            ip: ip.into(),
            city: "Somewhere".into(),
            country: country.into(),
            code,
            reason: reason(code).into(),
            user_agent: String::new(),
            ca: "notApplied".into(),
        }
    }

    pub fn agent(mut self, ua: &str) -> Row {
        self.user_agent = ua.into();
        self
    }

    pub fn ca(mut self, ca: &str) -> Row {
        self.ca = ca.into();
        self
    }
}

/// The failure reason the logs show for a code (Microsoft's wording where known).
pub fn reason(code: u32) -> &'static str {
    match code {
        0 => "Other.",
        50126 => "Error validating credentials due to invalid username or password.",
        50053 => "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
        53003 => "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        _ => "Other.",
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn portal_ca(ca: &str) -> &str {
    match ca {
        "success" => "Success",
        "failure" => "Failure",
        _ => "Not Applied",
    }
}

/// A data line of the CSV export (56 cells, in the header's order).
pub fn csv_line(r: &Row, n: usize) -> String {
    let id = format!("00000000-0000-4000-8000-{n:012}");
    let status = if r.code == 0 { "Success" } else { "Failure" };
    let location = format!("{}, {}, {}", r.city, r.city, r.country);
    let code = r.code.to_string();
    let cells: [&str; 57] = [
        &r.time,
        &id,
        &r.user_agent,
        &id,
        &id,
        &r.display,
        &r.upn,
        "Member",
        "none",
        "none",
        "ropc",
        "",
        "",
        "none",
        "",
        "",
        "Office 365 Exchange Online",
        EXCHANGE,
        "",
        "Office 365 Exchange Online",
        EXCHANGE,
        "",
        "",
        "",
        "",
        &r.ip,
        &location,
        status,
        &code,
        &r.reason,
        &r.client_app,
        "",
        "",
        "",
        "false",
        "false",
        "",
        "",
        "",
        "",
        "Single-factor authentication",
        &r.upn,
        "",
        "",
        "false",
        "",
        "64496",
        "false",
        "AzureAD",
        "none",
        "",
        "45",
        portal_ca(&r.ca),
        "",
        "",
        "",
        "",
    ];
    let mut line = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&csv_cell(c));
    }
    line
}

/// A whole CSV export (header, then one line per row, CRLF as the portal writes).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for (n, r) in rows.iter().enumerate() {
        out.push_str(&csv_line(r, n));
        out.push_str("\r\n");
    }
    out
}

/// A sign-in with Graph's property names (the JSON download uses them too).
pub fn graph_object(r: &Row, n: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "createdDateTime": r.time,
        "userDisplayName": r.display,
        "userPrincipalName": r.upn,
        "userId": format!("00000000-0000-4000-9000-{n:012}"),
        "appId": EXCHANGE,
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": r.ip,
        "clientAppUsed": r.client_app,
        "userAgent": r.user_agent,
        "correlationId": format!("00000000-0000-4000-a000-{n:012}"),
        "conditionalAccessStatus": r.ca,
        "isInteractive": true,
        "riskDetail": "none",
        "riskLevelAggregated": "hidden",
        "riskLevelDuringSignIn": "hidden",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Office 365 Exchange Online",
        "resourceId": EXCHANGE,
        "status": {
            "errorCode": r.code,
            "failureReason": r.reason,
            "additionalDetails": null
        },
        "deviceDetail": {
            "deviceId": "", "displayName": "", "operatingSystem": "", "browser": "",
            "isCompliant": false, "isManaged": false, "trustType": ""
        },
        "location": {
            "city": r.city, "state": r.city, "countryOrRegion": r.country,
            "geoCoordinates": {"altitude": null, "latitude": 0.0, "longitude": 0.0}
        },
        "appliedConditionalAccessPolicies": []
    })
}

/// The portal's JSON download: one pretty-printed array.
pub fn portal_json(rows: &[Row]) -> String {
    let v: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| graph_object(r, n))
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// Graph pages of `per_page` sign-ins; every page but the last has a nextLink.
pub fn graph_pages(rows: &[Row], per_page: usize) -> Vec<String> {
    let chunks: Vec<_> = rows.chunks(per_page.max(1)).collect();
    let mut pages = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let value: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(n, r)| graph_object(r, i * per_page + n))
            .collect();
        let mut page = serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        });
        if i + 1 < chunks.len() {
            page["@odata.nextLink"] = serde_json::Value::String(format!(
                "https://graph.microsoft.com/v1.0/auditLogs/signIns?$top={per_page}&$skiptoken=page{}",
                i + 1
            ));
        }
        page["value"] = serde_json::Value::Array(value);
        pages.push(serde_json::to_string_pretty(&page).unwrap_or_default());
    }
    pages
}

/// One compact object per line.
pub fn json_lines(rows: &[Row]) -> String {
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        let _ = writeln!(out, "{}", graph_object(r, n));
    }
    out
}

/// A month of an office's sign-ins that touches every section.
pub fn office() -> Vec<Row> {
    let mut rows = Vec::new();
    for d in 10..22 {
        rows.push(Row::new(
            &format!("2026-11-{d}T07:42:19Z"),
            "scanner@contoso.com",
            "Authenticated SMTP",
            "203.0.113.45",
            "DE",
            0,
        ));
    }
    for m in 0..11 {
        rows.push(
            Row::new(
                &format!("2026-11-25T08:{m:02}:00Z"),
                "printer@contoso.com",
                "Authenticated SMTP",
                "198.51.100.7",
                "AT",
                50126,
            )
            .agent("Printer-Firmware/2.1"),
        );
    }
    for m in 30..32 {
        rows.push(
            Row::new(
                &format!("2026-11-25T08:{m}:00Z"),
                "printer@contoso.com",
                "Authenticated SMTP",
                "198.51.100.7",
                "AT",
                50053,
            )
            .agent("Printer-Firmware/2.1"),
        );
    }
    rows.push(Row::new(
        "2026-11-20T10:00:00Z",
        "alice@contoso.com",
        "IMAP4",
        "192.0.2.9",
        "US",
        0,
    ));
    rows.push(
        Row::new(
            "2026-11-20T11:00:00Z",
            "alice@contoso.com",
            "Browser",
            "192.0.2.10",
            "DE",
            0,
        )
        .ca("success"),
    );
    rows.push(Row::new(
        "2026-11-21T09:00:00Z",
        "alice@contoso.com",
        "Browser",
        "2001:db8::1",
        "US",
        50126,
    ));
    for d in 1..4 {
        rows.push(
            Row::new(
                &format!("2026-11-0{d}T06:00:00Z"),
                "carol@contoso.com",
                "Exchange ActiveSync",
                "192.0.2.20",
                "DE",
                0,
            )
            .ca("success"),
        );
    }
    rows.push(
        Row::new(
            "2026-11-12T12:00:00Z",
            "bob@contoso.com",
            "Mobile Apps and Desktop clients",
            "192.0.2.30",
            "DE",
            53003,
        )
        .ca("failure"),
    );
    rows.push(
        Row::new(
            "2026-11-13T12:00:00Z",
            "bob@contoso.com",
            "POP3",
            "192.0.2.30",
            "DE",
            530035,
        )
        .ca("failure"),
    );
    rows.push(Row::new(
        "2026-11-14T12:00:00Z",
        "dave@contoso.com",
        "Browser",
        "192.0.2.40",
        "DE",
        4_242_424,
    ));
    // Before the 30-day window: counted, not analysed.
    rows.push(Row::new(
        "2026-09-01T12:00:00Z",
        "erin@contoso.com",
        "IMAP4",
        "192.0.2.50",
        "DE",
        0,
    ));
    rows
}

/// `n` sign-ins spread over the 30 days before 2026-12-01, as a large tenant's
/// month looks: mostly modern, with printers on SMTP AUTH, some IMAP and POP,
/// wrong passwords, and a few devices abroad. Deterministic.
pub fn large_month(n: usize) -> impl Iterator<Item = Row> {
    (0..n).map(large_month_row)
}

/// Row `i` of `large_month`, made on its own (the simulated Graph serves a
/// million of them without holding them).
pub fn large_month_row(i: usize) -> Row {
    let apps = [
        "Browser",
        "Mobile Apps and Desktop clients",
        "Browser",
        "Mobile Apps and Desktop clients",
        "Authenticated SMTP",
        "Exchange ActiveSync",
        "IMAP4",
        "POP3",
        "Other clients",
        "Authenticated SMTP",
    ];
    let countries = ["DE", "DE", "DE", "AT", "DE", "AT", "DE", "DE", "AT", "DE"];
    {
        let user = i * 7919 % 5000;
        let app = apps[i % apps.len()];
        let secs = 30 * 86_400 - (i as i64 * 10_369 % (30 * 86_400));
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc) - chrono::Duration::seconds(secs))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let mut ip = match i % 3 {
            0 => format!("192.0.2.{}", i % 250),
            1 => format!("198.51.100.{}", user % 250),
            _ => format!("2001:db8::{:x}", i % 4096),
        };
        // One user in 97 has a device that keeps sending a wrong password from
        // one address (and is refused as locked now and then); elsewhere
        // failures are rare.
        let code = if user.is_multiple_of(97) {
            ip = format!("203.0.113.{}", user % 250);
            if i.is_multiple_of(12) {
                50053
            } else {
                50126
            }
        } else {
            match i % 61 {
                0 => 50126,
                1 => 50140,
                2 => 53003,
                _ => 0,
            }
        };
        let country = if i % 997 == 8 {
            "US"
        } else {
            countries[i % 10]
        };
        Row::new(
            &t,
            &format!("user{user}@contoso.com"),
            app,
            &ip,
            country,
            code,
        )
        .agent(if i.is_multiple_of(2) {
            ""
        } else {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
        })
        .ca(if i.is_multiple_of(5) {
            "success"
        } else {
            "notApplied"
        })
    }
}
