//! Structured logs on stderr: one JSON object per line (a timestamp, a level, a
//! message and named fields), written whole so lines never interleave.
//!
//! Callers pass only what is safe to keep: addresses, module names, codes,
//! durations, file names. Never a secret, never a request's raw query.

use std::io::Write as _;

pub fn info(msg: &str, fields: serde_json::Value) {
    write("info", msg, fields)
}

pub fn warn(msg: &str, fields: serde_json::Value) {
    write("warn", msg, fields)
}

pub fn error(msg: &str, fields: serde_json::Value) {
    write("error", msg, fields)
}

fn write(level: &str, msg: &str, fields: serde_json::Value) {
    let _ = std::io::stderr()
        .lock()
        .write_all(&line(level, msg, fields));
}

/// One log line, newline included.
pub fn line(level: &str, msg: &str, fields: serde_json::Value) -> Vec<u8> {
    let mut obj = serde_json::Map::new();
    obj.insert(
        "ts".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    obj.insert("level".into(), level.into());
    obj.insert("msg".into(), msg.into());
    if let serde_json::Value::Object(m) = fields {
        obj.extend(m);
    }
    let mut out = serde_json::to_vec(&obj).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_is_one_json_object() {
        let l = super::line("info", "probe", serde_json::json!({"target": "a\nb@c.com"}));
        let text = String::from_utf8(l).expect("utf-8");
        assert_eq!(text.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["msg"], "probe");
        assert_eq!(v["target"], "a\nb@c.com");
    }
}
