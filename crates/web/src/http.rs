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

/// Most bytes of the stem of a stored upload's name: with the extension it stays far below the 255
/// bytes a file name may have (84 kanji are already 252 bytes).
const UPLOAD_STEM_BYTES: usize = 120;

/// A safe file name for storing an upload: the last path component of the browser's file name,
/// without control characters, its stem cut (at a character boundary) to 120 bytes; `upload`
/// when nothing is left. The extension is kept (it tells CSV from a workbook).
pub fn upload_name(sent: &str) -> String {
    let base: String =
        sent.rsplit(['/', '\\']).next().unwrap_or_default().chars().filter(|c| !c.is_control()).collect();
    let base = base.trim();
    if base.is_empty() || base.chars().all(|c| c == '.') {
        return "upload".into();
    }
    let cut = |s: &str, max: usize| -> String {
        let mut end = 0;
        for (i, c) in s.char_indices() {
            if i + c.len_utf8() > max {
                break;
            }
            end = i + c.len_utf8();
        }
        s[..end].to_string()
    };
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 8 => {
            format!("{}.{}", cut(stem, UPLOAD_STEM_BYTES), cut(ext, 8))
        }
        _ => cut(base, UPLOAD_STEM_BYTES),
    }
}

/// The name an upload is stored under on disk: `upload` plus the extension of `name` (the
/// [`upload_name`] shown to the user) when it is 1–8 ASCII letters or digits, lower-cased
/// (`upload.csv`, `upload.xlsx`), so the reader still tells CSV from a workbook. Nothing the user
/// typed reaches the file system but that extension; each upload has a folder of its own.
pub fn stored_upload_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext)) if (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            format!("upload.{}", ext.to_ascii_lowercase())
        }
        _ => "upload".into(),
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
    fn upload_names_keep_the_file_name_only_and_fit_a_file_system() {
        assert_eq!(upload_name("行動計画_令和5年度.xlsx"), "行動計画_令和5年度.xlsx");
        assert_eq!(upload_name(r"C:\Users\a\plan.csv"), "plan.csv");
        assert_eq!(upload_name("../../etc/passwd"), "passwd");
        assert_eq!(upload_name(".."), "upload");
        assert_eq!(upload_name(""), "upload");
        assert_eq!(upload_name("a\u{0}b.csv"), "ab.csv");
        assert_eq!(stored_upload_name(&upload_name(&format!("{}.CSV", "漢".repeat(84)))), "upload.csv");
        assert_eq!(stored_upload_name("../../etc/passwd"), "upload");
        assert_eq!(stored_upload_name("a.x/y"), "upload");
        // 84 kanji (252 bytes) and 300 kanji: cut to 40 kanji (120 bytes), the extension kept
        for n in [84, 300] {
            let long = format!("{}.xlsx", "計".repeat(n));
            assert_eq!(upload_name(&long), format!("{}.xlsx", "計".repeat(40)));
        }
    }

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
