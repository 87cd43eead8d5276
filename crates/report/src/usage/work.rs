//! The work items of the escalation steps as files: the MDM bulk-message list (CSV of device
//! serials), the school notices (CSV, one row per case, grouped by school) and the printable
//! letters to parents (HTML, one A4 page per pupil). Pupil-level documents: for board and school
//! staff only, never for public or committee outputs.

use crate::render::{self, Cell, Table};
use crate::svg::escape;
use gigaops_domain::usage::EscalationPolicy;
use gigaops_store::usage::queries::WorkRow;

fn step_name(policy: &EscalationPolicy, step: i64) -> String {
    policy.steps.get((step - 1).max(0) as usize).map_or_else(|| format!("段階{step}"), |s| s.name.clone())
}

/// CSV (UTF-8 with BOM) for an MDM bulk message: `serial_number` first (the column Jamf School /
/// Jamf Pro / Intune bulk actions match devices on), then line, school and step; only the items
/// whose audience is the device, and only those with a serial.
pub fn mdm_csv(items: &[WorkRow]) -> Vec<u8> {
    let mut t = Table::new("MDM", ["serial_number", "line_id", "school_code", "step", "work_item_id"]);
    for w in items.iter().filter(|w| w.audience == "device") {
        if let Some(serial) = &w.device_serial {
            t.rows.push(vec![
                Cell::text(serial),
                Cell::text(&w.line_no),
                Cell::text(&w.school_code),
                Cell::Text(w.step.to_string()),
                Cell::Text(w.id.to_string()),
            ]);
        }
    }
    render::to_csv(&t)
}

/// CSV (UTF-8 with BOM) of the school notices: one row per case whose step tells the school.
pub fn school_notices_csv(items: &[WorkRow], policy: &EscalationPolicy) -> Vec<u8> {
    let mut t =
        Table::new("学校への通知", ["学校コード", "学校名", "児童生徒ID", "回線番号", "月", "段階", "作業番号"]);
    for w in items.iter().filter(|w| w.audience == "school") {
        t.rows.push(vec![
            Cell::text(&w.school_code),
            Cell::text(&w.school_name),
            Cell::Text(w.pupil_id.clone().unwrap_or_default()),
            Cell::text(&w.line_no),
            Cell::text(&w.month),
            Cell::Text(step_name(policy, w.step)),
            Cell::Text(w.id.to_string()),
        ]);
    }
    render::to_csv(&t)
}

/// `2022-10` → `2022年10月` (the text as it is when it is not a month).
fn month_ja(month: &str) -> String {
    match month.parse::<gigaops_domain::YearMonth>() {
        Ok(m) => format!("{}年{}月", m.year(), m.month()),
        Err(_) => month.to_string(),
    }
}

/// The e-mail of one school's notice for `month` (`YYYY-MM`): `(subject, body)`, plain UTF-8 text
/// in Japanese, sent by `board`. It lists only the items of `items` whose audience is the school
/// and whose school code is `school_code`, so another school's pupils can never appear in it.
pub fn school_notice_mail(
    items: &[WorkRow],
    policy: &EscalationPolicy,
    board: &str,
    school_code: &str,
    month: &str,
) -> (String, String) {
    let mine: Vec<&WorkRow> =
        items.iter().filter(|w| w.audience == "school" && w.school_code == school_code && w.month == month).collect();
    let school = mine.first().map_or(school_code, |w| w.school_name.as_str());
    let subject = format!("【{board}】通信量の多い児童生徒についての通知（{}・{school}）", month_ja(month));
    let g = gigaops_domain::usage::bytes_to_gb;
    let mut body = format!(
        "{school}\n校長先生・情報教育ご担当の先生\n\n{board}です。\n{m}の通信量の判定で、貴校の次の児童生徒の端末が\
         段階的な対応の対象となりました（基準: 1か月に {single} GB 以上、または {months} か月連続で {cons} GB 以上）。\n\
         該当する児童生徒への指導をお願いいたします。\n\n",
        m = month_ja(month),
        single = g(policy.single_month_bytes),
        months = policy.consecutive_months,
        cons = g(policy.consecutive_bytes),
    );
    for w in &mine {
        body.push_str(&format!(
            "・児童生徒ID {}　回線番号 {}　段階 {}（{}）　作業番号 {}\n",
            w.pupil_id.as_deref().unwrap_or("—"),
            w.line_no,
            w.step,
            step_name(policy, w.step),
            w.id
        ));
    }
    body.push_str(&format!(
        "\n以上 {} 件です。対応が済みましたら、gigaops の作業一覧（通信量 → 作業一覧）で完了にしてください。\n\n{board}\n",
        mine.len()
    ));
    (subject, body)
}

/// A printable HTML document (A4 portrait), one letter per pupil whose step tells the parents,
/// handed over through the school. `board` is the board's name (the sender).
pub fn letters_html(items: &[WorkRow], policy: &EscalationPolicy, board: &str) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n<title>保護者の皆様へ（通信量について）</title>\n\
         <style>@page { size: A4 portrait; margin: 20mm; } body { font-family: IPAexGothic, \"Noto Sans CJK JP\", sans-serif; \
         line-height: 1.8; } .letter { break-after: page; } .letter:last-child { break-after: auto; } \
         .to, .from { margin: 0; } .from { text-align: right; }</style>\n</head>\n<body>\n",
    );
    let single = gigaops_domain::usage::bytes_to_gb(policy.single_month_bytes);
    let cons = gigaops_domain::usage::bytes_to_gb(policy.consecutive_bytes);
    let mut n = 0;
    for w in items.iter().filter(|w| w.audience == "parents") {
        n += 1;
        s.push_str(&format!(
            "<section class=\"letter\">\n<p class=\"to\">{school}<br>児童生徒ID {pupil} の保護者様</p>\n\
             <p class=\"from\">{board}</p>\n<h1>タブレット端末の通信量について（{step}）</h1>\n\
             <p>貸与しているタブレット端末（回線番号 {line}）の通信量が、1か月に {single} GB 以上、または {months} か月連続で \
             {cons} GB 以上となる状態が続いています。学校からの注意喚起や警告のメッセージの後も改善が見られないため、ご家庭での\
             ご協力をお願いいたします。</p>\n<p>iPad の「スクリーンタイム」（設定 → スクリーンタイム）を使うと、アプリごとの使用時間の\
             確認や利用時間の制限ができます。お子様と一緒に使い方を話し合ってください。</p>\n\
             <p>ご不明な点は学校までお問い合わせください。</p>\n<p class=\"ref\">整理番号 {id}（{month}）</p>\n</section>\n",
            school = escape(&w.school_name),
            pupil = escape(w.pupil_id.as_deref().unwrap_or("—")),
            board = escape(board),
            step = escape(&step_name(policy, w.step)),
            line = escape(&w.line_no),
            months = policy.consecutive_months,
            id = w.id,
            month = escape(&w.month),
        ));
    }
    if n == 0 {
        s.push_str("<p>この月に保護者へお知らせする対象者はいません。</p>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, step: i64, audience: &str, serial: Option<&str>) -> WorkRow {
        WorkRow {
            id,
            case_id: id,
            month: "2022-12".into(),
            step,
            audience: audience.into(),
            line_no: format!("0700000000{id}"),
            device_serial: serial.map(String::from),
            pupil_id: Some(format!("P{id}")),
            school_id: 1,
            school_code: "B110210000017".into(),
            school_name: "前橋市立桃井小学校".into(),
            done_at: None,
            done_by: None,
        }
    }

    #[test]
    fn each_audience_gets_its_own_file() {
        let p = EscalationPolicy::maebashi();
        let items = vec![item(1, 1, "device", Some("DMP1")), item(2, 2, "school", None), item(3, 4, "parents", None)];
        let mdm = String::from_utf8(mdm_csv(&items)).unwrap();
        assert_eq!(
            mdm,
            "\u{feff}serial_number,line_id,school_code,step,work_item_id\r\nDMP1,07000000001,B110210000017,1,1\r\n"
        );
        let schools = String::from_utf8(school_notices_csv(&items, &p)).unwrap();
        assert!(
            schools.contains("B110210000017,前橋市立桃井小学校,P2,07000000002,2022-12,学校への通知,2"),
            "{schools}"
        );
        assert!(!schools.contains("P1"));
        let letters = letters_html(&items, &p, "前橋市教育委員会");
        assert_eq!(letters.matches("<section class=\"letter\">").count(), 1);
        assert!(letters.contains("児童生徒ID P3 の保護者様") && letters.contains("200 GB 以上"), "{letters}");
    }

    #[test]
    fn a_school_mail_lists_only_that_schools_notices() {
        let p = EscalationPolicy::maebashi();
        let mut other = item(4, 2, "school", None);
        other.school_code = "B110210000026".into();
        other.school_name = "前橋市立中川小学校".into();
        let items = vec![item(1, 1, "device", Some("DMP1")), item(2, 2, "school", None), other];
        let (subject, body) = school_notice_mail(&items, &p, "前橋市教育委員会", "B110210000017", "2022-12");
        assert_eq!(subject, "【前橋市教育委員会】通信量の多い児童生徒についての通知（2022年12月・前橋市立桃井小学校）");
        assert!(body.contains("児童生徒ID P2") && body.contains("以上 1 件"), "{body}");
        assert!(!body.contains("P1") && !body.contains("P4") && !body.contains("中川"), "{body}");
    }
}
