//! Small HTTP helpers: percent-encoding for URLs and `Content-Disposition` with a Japanese
//! file name (RFC 5987 / RFC 6266).

/// Percent-encodes everything but RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`), so the
/// result is safe in a path segment, a query value and an RFC 5987 `filename*`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `attachment; filename="<ascii>"; filename*=UTF-8''<name>`: browsers that know RFC 5987 save
/// the Japanese `name`, older ones the ASCII fallback.
pub fn attachment(name: &str, ascii_fallback: &str) -> String {
    let fallback: String = ascii_fallback.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{}", encode(name))
}

/// A query string (`?a=1&b=2`) from pairs, skipping empty values; `""` when nothing is left.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Whether `next` is a safe place to go after login: a path on this site (`/…`, not `//…` or
/// `/\…`, no scheme, no control characters).
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_japanese_and_reserved() {
        assert_eq!(encode("R4 運用"), "R4%20%E9%81%8B%E7%94%A8");
        assert_eq!(encode("a/b?c&d"), "a%2Fb%3Fc%26d");
        assert_eq!(encode("DMP-1_x.~"), "DMP-1_x.~");
    }

    #[test]
    fn content_disposition_has_both_names() {
        let v = attachment("運用状況_R4.csv", "fleet-report-R4.csv");
        assert_eq!(
            v,
            "attachment; filename=\"fleet-report-R4.csv\"; filename*=UTF-8''%E9%81%8B%E7%94%A8%E7%8A%B6%E6%B3%81_R4.csv"
        );
    }

    #[test]
    fn query_skips_empty_values() {
        assert_eq!(query(&[("q", "DMP"), ("status", ""), ("page", "2")]), "?q=DMP&page=2");
        assert_eq!(query(&[("q", "")]), "");
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert!(is_local_path("/fleet/devices?q=DMP"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/x\r\nSet-Cookie: a=b"));
        assert!(!is_local_path(""));
    }
}
