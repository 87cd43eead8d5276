//! The kinds of file gigaops imports, and what a preview shows of a file before it is imported:
//! which field each header column was taken as, and the first records as they will be stored.
//!
//! A kind's name is the `gigaops import` subcommand (`devices`, `usage`, …); the web upload
//! (`/imports`, form field `kind`) uses the same names.

use crate::table::{normalize_header, Table};
use std::fmt;

/// One kind of import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// MEXT 学校コード list, or `school_code,name,kind`.
    Schools,
    /// Device inventory or MDM export (Intune, Jamf, Google Admin / GAM).
    Devices,
    /// Breakage / fault / loss / theft records.
    Incidents,
    /// Moves of devices between schools and statuses.
    Movements,
    /// LTE lines of the pooled contract.
    Lines,
    /// LTE usage per line and month (or day).
    Usage,
    /// ICT promotion plan: 資料4-1 evaluation or schedule.
    Plan,
}

impl ImportKind {
    /// Every kind, in the order the upload form lists them.
    pub const ALL: [ImportKind; 7] = [
        ImportKind::Schools,
        ImportKind::Devices,
        ImportKind::Incidents,
        ImportKind::Movements,
        ImportKind::Lines,
        ImportKind::Usage,
        ImportKind::Plan,
    ];

    /// The CLI subcommand name: `schools`, `devices`, `incidents`, `movements`, `lines`, `usage`, `plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Schools => "schools",
            ImportKind::Devices => "devices",
            ImportKind::Incidents => "incidents",
            ImportKind::Movements => "movements",
            ImportKind::Lines => "lines",
            ImportKind::Usage => "usage",
            ImportKind::Plan => "plan",
        }
    }

    /// Japanese name for the UI, e.g. `端末台帳（インベントリ・MDM）`.
    pub fn label_ja(self) -> &'static str {
        match self {
            ImportKind::Schools => "学校一覧（学校コード）",
            ImportKind::Devices => "端末台帳（インベントリ・MDM エクスポート）",
            ImportKind::Incidents => "破損・故障・紛失の記録",
            ImportKind::Movements => "端末の移動",
            ImportKind::Lines => "LTE 回線",
            ImportKind::Usage => "LTE 通信量（月別・日別）",
            ImportKind::Plan => "推進計画（資料4-1・スケジュール）",
        }
    }

    /// The kind named `s` (as [`ImportKind::as_str`]); `None` for any other text.
    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The header columns a file of this kind may have: (field name, aliases). A header maps to
    /// the first field one of whose aliases it equals after [`normalize_header`]; a volume field
    /// (its name ends in `_volume`) also takes a header that starts with an alias and ends in a unit
    /// (`通信量(GB)`).
    fn fields(self) -> &'static [(&'static str, &'static [&'static str])] {
        use crate::{devices as d, incidents as i, movements as m, plan as p, schools as s, usage as u};
        match self {
            ImportKind::Schools => &[
                ("school_code", s::CODE),
                ("name", s::NAME),
                ("kind", s::KIND),
                ("prefecture_code", s::PREFECTURE),
                ("status", s::STATUS),
                ("address", s::ADDRESS),
                ("postal_code", s::POSTAL),
                ("closed_on", s::CLOSED_ON),
                ("successor_code", s::SUCCESSOR),
            ],
            ImportKind::Devices => &[
                ("serial_number", crate::cell::SERIAL_ALIASES),
                ("model", d::MODEL),
                ("model_group", d::GROUP),
                ("device_class", d::CLASS),
                ("status", d::STATUS),
                ("school_code", d::SCHOOL),
                ("school_code（場所から）", d::PLACE),
                ("asset_tag", d::ASSET),
                ("device_name", d::NAME),
                ("os_version", d::OS),
                ("last_check_in", d::LAST),
            ],
            ImportKind::Incidents => &[
                ("serial_number", crate::cell::SERIAL_ALIASES),
                ("occurred_on", i::OCCURRED_ON),
                ("kind", i::KIND),
                ("cause", i::CAUSE),
                ("replacement_serial", i::REPLACEMENT),
                ("repaired_on", i::REPAIRED_ON),
                ("written_off_on", i::WRITTEN_OFF_ON),
            ],
            ImportKind::Movements => &[
                ("serial_number", crate::cell::SERIAL_ALIASES),
                ("moved_on", m::MOVED_ON),
                ("to_status", m::TO_STATUS),
                ("to_school_code", m::TO_SCHOOL),
            ],
            ImportKind::Lines => &[
                ("line_id", u::LINE),
                ("school_code", u::SCHOOL),
                ("device_serial", u::SERIAL),
                ("pupil_id", u::PUPIL),
                ("allowance_volume", u::ALLOWANCE_BASES),
                ("active_from", u::FROM),
                ("active_to", u::TO),
            ],
            ImportKind::Usage => {
                &[("line_id", u::LINE), ("month", u::MONTH), ("date", u::DATE), ("usage_volume", u::USAGE_BASES)]
            }
            ImportKind::Plan => &[
                ("plan", p::PLAN),
                ("period", p::PERIOD),
                ("fiscal_year", p::FISCAL_YEAR),
                ("policy", p::POLICY),
                ("policy_title", p::POLICY_TITLE),
                ("measure", p::MEASURE),
                ("measure_title", p::MEASURE_TITLE),
                ("initiative", p::INITIATIVE),
                ("initiative_title", p::INITIATIVE_TITLE),
                ("summary", p::SUMMARY),
                ("goal", p::GOAL),
                ("goal_text", p::GOAL_TEXT),
                ("divisions", p::DIVISIONS),
                ("action", p::ACTION),
                ("status", p::STATUS),
                ("due", p::DUE),
                ("result", p::RESULT),
                ("grade", p::GRADE),
                ("next_action", p::NEXT_ACTION),
                ("next_status", p::NEXT_STATUS),
                ("school_actions", p::SCHOOL_ACTIONS),
                ("priority", p::PRIORITY),
                ("kpi_direction", p::KPI_DIRECTION),
                ("kpi", p::KPI),
                ("start", p::START),
                ("end", p::END),
                ("label", p::LABEL),
            ],
        }
    }

    /// For each header of `table`, in file order, the field it will be read as (`None`: the
    /// column is not used). `named` maps extra headers to fields first (a usage mapping file's
    /// columns: `(header, field)`). Each field is taken by its first matching header only.
    pub fn column_map(self, table: &Table, named: &[(String, &'static str)]) -> Vec<ColumnUse> {
        let mut taken: Vec<&'static str> = Vec::new();
        table
            .headers
            .iter()
            .map(|h| {
                let n = normalize_header(h);
                let explicit = named.iter().find(|(name, _)| normalize_header(name) == n).map(|(_, f)| *f);
                let field = explicit.or_else(|| {
                    self.fields().iter().find_map(|(field, aliases)| {
                        let hit = aliases.iter().any(|a| {
                            let a = normalize_header(a);
                            a == n || (field.ends_with("_volume") && n.starts_with(&a) && n.len() > a.len())
                        });
                        (hit && !taken.contains(field)).then_some(*field)
                    })
                });
                if let Some(f) = field {
                    taken.push(f);
                }
                ColumnUse { header: h.clone(), field: field.map(str::to_string) }
            })
            .collect()
    }
}

impl ImportKind {
    /// The kind a file with these headers most likely is: the kind that maps the most of them,
    /// if it maps at least two and no other kind maps as many. Used to say "this looks like a usage
    /// file" when a file was uploaded as the wrong kind.
    pub fn guess(headers: &[String]) -> Option<ImportKind> {
        let t = Table::from_rows("", headers.to_vec(), Vec::new());
        let mut scored: Vec<(usize, ImportKind)> = ImportKind::ALL
            .into_iter()
            .map(|k| (k.column_map(&t, &[]).iter().filter(|c| c.field.is_some()).count(), k))
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        match scored.as_slice() {
            [(best, k), (second, _), ..] if *best >= 2 && best > second => Some(*k),
            _ => None,
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header column of a file and the field it is read as (`None`: not used).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnUse {
    pub header: String,
    pub field: Option<String>,
}

/// A record as a preview shows it: (field, value as it will be stored) pairs, in a fixed order.
/// Every record type of a reader implements it, so that the import pipeline can show the first
/// rows of any kind without knowing it.
pub trait PreviewRow {
    fn preview(&self) -> Vec<(&'static str, String)>;
}

/// `Some(x)` as text, `None` as empty.
pub(crate) fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_is_none() {
        for k in ImportKind::ALL {
            assert_eq!(ImportKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ImportKind::parse("device"), None);
    }

    #[test]
    fn a_usage_header_is_guessed_as_usage() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(ImportKind::guess(&h(&["line_id", "month", "usage_gb"])), Some(ImportKind::Usage));
        assert_eq!(
            ImportKind::guess(&h(&["serial_number", "model", "model_group", "device_class"])),
            Some(ImportKind::Devices)
        );
        assert_eq!(ImportKind::guess(&h(&["a", "b"])), None);
    }

    #[test]
    fn column_map_names_each_used_header_once() {
        let t = Table::from_rows(
            "u.csv",
            vec!["回線番号".into(), "利用年月".into(), "通信量(GB)".into(), "備考".into(), "line_id".into()],
            vec![vec!["09012345678".into(), "2022-09".into(), "1.5".into(), "".into(), "x".into()]],
        );
        let m = ImportKind::Usage.column_map(&t, &[]);
        let fields: Vec<Option<&str>> = m.iter().map(|c| c.field.as_deref()).collect();
        assert_eq!(fields, vec![Some("line_id"), Some("month"), Some("usage_volume"), None, None]);
        let named = ImportKind::Usage.column_map(&t, &[("備考".into(), "usage_volume")]);
        assert_eq!(named[3].field.as_deref(), Some("usage_volume"));
    }
}
