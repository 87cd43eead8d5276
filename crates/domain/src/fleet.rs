//! Device fleet: statuses, incident kinds, the state changes an incident or movement causes, and
//! the spare-stock projection of the monthly report 「学習者用端末の運用状況」 (Maebashi, seed 003).

use crate::calendar::YearMonth;
use chrono::NaiveDate;
use std::fmt;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $code:literal / $ja:literal $(| $alias:literal)* ),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl $name {
            /// All values, in display order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The code stored in the database and written in files (English snake_case).
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $code),+ } }
            /// The Japanese label shown in the UI and documents.
            pub fn label_ja(self) -> &'static str { match self { $($name::$var => $ja),+ } }
            /// Parses the code, the Japanese label or a known alias (case-insensitive, trimmed).
            pub fn parse(s: &str) -> Option<Self> {
                let t = s.trim().to_ascii_lowercase();
                $( if t == $code || t == $ja $(|| t == $alias)* { return Some($name::$var); } )+
                None
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(
    /// Lifecycle status of a device.
    DeviceStatus {
        /// 配置済: in use at a school.
        Deployed = "deployed" / "配置済" | "配置" | "active" | "使用中" | "provisioned",
        /// 予備機: in the spare pool.
        Spare = "spare" / "予備機" | "予備" | "保守用",
        /// 修理中.
        InRepair = "in_repair" / "修理中" | "repair",
        /// 紛失・盗難.
        Lost = "lost" / "紛失" | "盗難",
        /// 廃棄: written off.
        Retired = "retired" / "廃棄" | "deprovisioned" | "disabled",
    }
);

text_enum!(
    /// Who uses the device.
    DeviceClass {
        /// 学習者用端末.
        Learner = "learner" / "学習者用" | "学習者用端末" | "student" | "児童生徒用",
        /// 指導者用端末.
        Teacher = "teacher" / "指導者用" | "指導者用端末" | "教員用",
    }
);

text_enum!(
    /// Kind of incident (破損 / 故障 / 紛失 / 盗難).
    IncidentKind {
        /// 破損: physical damage (screen, drop, water).
        Damage = "damage" / "破損",
        /// 故障: a fault without outside cause.
        Fault = "fault" / "故障",
        /// 紛失.
        Loss = "loss" / "紛失",
        /// 盗難.
        Theft = "theft" / "盗難",
    }
);

impl IncidentKind {
    /// The status the affected device takes on the incident date: damage and fault go to repair,
    /// loss and theft to lost.
    pub fn status_after(self) -> DeviceStatus {
        match self {
            IncidentKind::Damage | IncidentKind::Fault => DeviceStatus::InRepair,
            IncidentKind::Loss | IncidentKind::Theft => DeviceStatus::Lost,
        }
    }
}

/// Spare-stock projection: the month in which the spare pool runs out if it keeps falling at the
/// trailing six-month rate.
///
/// `spares_at_month_end` is the pool size at the end of consecutive months, oldest first, ending
/// with the reference month (the last month with recorded data). The rate is the net fall over the
/// last six months (fewer if fewer are given, at least one), per month. Returns `None` when the pool
/// does not fall (rate ≤ 0) or fewer than two points are given; otherwise the first month after
/// the reference month whose projected end-of-month stock is ≤ 0 (the reference month itself when
/// the pool is already empty).
///
/// Rule chosen for gigaops (the published report leaves the details open): rate = (stock 6 months before − stock
/// now) ÷ 6, projected linearly.
pub fn spares_exhausted_in(reference: YearMonth, spares_at_month_end: &[i64]) -> Option<YearMonth> {
    let n = spares_at_month_end.len();
    if n < 2 {
        return None;
    }
    let now = spares_at_month_end[n - 1];
    if now <= 0 {
        return Some(reference);
    }
    let span = (n - 1).min(6);
    let before = spares_at_month_end[n - 1 - span];
    let fall = before - now;
    if fall <= 0 {
        return None;
    }
    // smallest k ≥ 1 with now − fall·k/span ≤ 0  ⇔  k ≥ now·span/fall
    let k = (now * span as i64 + fall - 1) / fall;
    Some(reference.add_months(k.max(1) as i32))
}

/// Incident rate: incidents ÷ deployed devices, `None` when nothing is deployed.
pub fn incident_rate(incidents: i64, deployed: i64) -> Option<f64> {
    (deployed > 0).then(|| incidents as f64 / deployed as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    #[test]
    fn parses_labels_and_codes() {
        assert_eq!(IncidentKind::parse("破損"), Some(IncidentKind::Damage));
        assert_eq!(IncidentKind::parse(" Theft "), Some(IncidentKind::Theft));
        assert_eq!(DeviceStatus::parse("予備機"), Some(DeviceStatus::Spare));
        assert_eq!(DeviceStatus::parse("in_repair"), Some(DeviceStatus::InRepair));
        assert_eq!(DeviceClass::parse("指導者用"), Some(DeviceClass::Teacher));
        assert_eq!(DeviceStatus::parse("broken"), None);
        assert_eq!(IncidentKind::Loss.status_after(), DeviceStatus::Lost);
        assert_eq!(IncidentKind::Damage.status_after(), DeviceStatus::InRepair);
    }

    #[test]
    fn maebashi_fy2022_projection() {
        // Spares at the end of Jun … Dec 2022 (seed 003): 473 → 315, 158 in six months.
        let s = [473, 453, 441, 406, 380, 336, 315];
        // 315 / (158/6) = 11.96 months → the 12th month after December 2022.
        assert_eq!(spares_exhausted_in(ym("2022-12"), &s), Some(ym("2023-12")));
    }

    #[test]
    fn stable_or_growing_stock_never_runs_out() {
        assert_eq!(spares_exhausted_in(ym("2022-12"), &[10, 10, 10]), None);
        assert_eq!(spares_exhausted_in(ym("2022-12"), &[5, 8]), None);
        assert_eq!(spares_exhausted_in(ym("2022-12"), &[5]), None);
        assert_eq!(spares_exhausted_in(ym("2022-12"), &[3, 0]), Some(ym("2022-12")));
        // exactly one month of stock left at one per month → next month
        assert_eq!(spares_exhausted_in(ym("2022-12"), &[2, 1]), Some(ym("2023-01")));
    }

    #[test]
    fn rate() {
        let r = incident_rate(219, 24213).unwrap();
        assert!((r - 0.009045).abs() < 1e-6);
        assert_eq!(incident_rate(3, 0), None);
    }
}

/// What the register knows about a device at the moment an event is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSnapshot {
    pub serial_number: String,
    pub status: DeviceStatus,
    /// The school it is at (only while deployed, or a spare kept at a school).
    pub school_id: Option<i64>,
    /// The inventory's as-of date: nothing may be dated before it.
    pub registered_on: NaiveDate,
    /// Date of its latest recorded state change: new events may not be dated before it.
    pub since: NaiveDate,
    pub model_group: String,
}

/// A status change a rule asks for: from `on`, the device has `status` at `school_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub on: NaiveDate,
    pub status: DeviceStatus,
    pub school_id: Option<i64>,
}

/// Why an event cannot be applied. Messages are Japanese and name the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetRuleError {
    #[error("端末 {serial} の日付 {on} は台帳の基準日 {registered_on} より前です")]
    BeforeRegistration { serial: String, on: NaiveDate, registered_on: NaiveDate },
    #[error("端末 {serial} には {since} の記録があり、それより前の日付 {on} の記録は追加できません（日付順に登録してください）")]
    BeforeLatest { serial: String, on: NaiveDate, since: NaiveDate },
    #[error("端末 {serial} は{status}のため、この操作はできません（{expected}）")]
    WrongStatus { serial: String, status: &'static str, expected: &'static str },
    #[error("代替機 {serial} は予備機ではありません（現在: {status}）")]
    NotASpare { serial: String, status: &'static str },
    #[error("代替機 {replacement} の機種グループ「{replacement_group}」が端末 {serial} の「{group}」と異なります")]
    GroupMismatch { serial: String, group: String, replacement: String, replacement_group: String },
    #[error("代替機が故障した端末 {0} 自身です")]
    SelfReplacement(String),
    #[error("配置（deployed）には移動先の学校が必要です（端末 {0}）")]
    DeployWithoutSchool(String),
    #[error("端末 {0} は既にその状態・学校です")]
    NoChange(String),
}

fn check_date(d: &DeviceSnapshot, on: NaiveDate) -> Result<(), FleetRuleError> {
    if on < d.registered_on {
        return Err(FleetRuleError::BeforeRegistration {
            serial: d.serial_number.clone(),
            on,
            registered_on: d.registered_on,
        });
    }
    if on < d.since {
        return Err(FleetRuleError::BeforeLatest { serial: d.serial_number.clone(), on, since: d.since });
    }
    Ok(())
}

/// An incident on `on`: the device goes to repair (damage, fault) or lost (loss, theft) and leaves
/// its school; a replacement spare of the same model group, if given, is deployed at that school.
/// Returns the device's transition and the replacement's.
///
/// Errors: dates before registration or before the latest recorded change of either device; the
/// device not deployed or spare; the replacement not a spare, of another group, or the device itself.
pub fn incident_transitions(
    device: &DeviceSnapshot,
    replacement: Option<&DeviceSnapshot>,
    on: NaiveDate,
    kind: IncidentKind,
) -> Result<(Transition, Option<Transition>), FleetRuleError> {
    check_date(device, on)?;
    if !matches!(device.status, DeviceStatus::Deployed | DeviceStatus::Spare) {
        return Err(FleetRuleError::WrongStatus {
            serial: device.serial_number.clone(),
            status: device.status.label_ja(),
            expected: "配置済または予備機の端末のみ",
        });
    }
    let dev = Transition { on, status: kind.status_after(), school_id: None };
    let rep = match replacement {
        None => None,
        Some(r) => {
            if r.serial_number == device.serial_number {
                return Err(FleetRuleError::SelfReplacement(r.serial_number.clone()));
            }
            check_date(r, on)?;
            if r.status != DeviceStatus::Spare {
                return Err(FleetRuleError::NotASpare { serial: r.serial_number.clone(), status: r.status.label_ja() });
            }
            if r.model_group != device.model_group {
                return Err(FleetRuleError::GroupMismatch {
                    serial: device.serial_number.clone(),
                    group: device.model_group.clone(),
                    replacement: r.serial_number.clone(),
                    replacement_group: r.model_group.clone(),
                });
            }
            Some(Transition { on, status: DeviceStatus::Deployed, school_id: device.school_id })
        }
    };
    Ok((dev, rep))
}

/// Return from repair on `on`: an in-repair device goes back to the spare pool.
pub fn repair_transition(device: &DeviceSnapshot, on: NaiveDate) -> Result<Transition, FleetRuleError> {
    check_date(device, on)?;
    if device.status != DeviceStatus::InRepair {
        return Err(FleetRuleError::WrongStatus {
            serial: device.serial_number.clone(),
            status: device.status.label_ja(),
            expected: "修理中の端末のみ修理完了にできます",
        });
    }
    Ok(Transition { on, status: DeviceStatus::Spare, school_id: None })
}

/// Write-off on `on`: any device that is not already retired is retired.
pub fn write_off_transition(device: &DeviceSnapshot, on: NaiveDate) -> Result<Transition, FleetRuleError> {
    check_date(device, on)?;
    if device.status == DeviceStatus::Retired {
        return Err(FleetRuleError::WrongStatus {
            serial: device.serial_number.clone(),
            status: device.status.label_ja(),
            expected: "廃棄済みの端末は廃棄できません",
        });
    }
    Ok(Transition { on, status: DeviceStatus::Retired, school_id: None })
}

/// A movement (端末移設, a spare deployed, a return to the pool): `to_status` at `to_school`.
/// Deployed needs a school; in repair, lost and retired never keep one.
pub fn movement_transition(
    device: &DeviceSnapshot,
    on: NaiveDate,
    to_status: DeviceStatus,
    to_school: Option<i64>,
) -> Result<Transition, FleetRuleError> {
    check_date(device, on)?;
    let school_id = match to_status {
        DeviceStatus::Deployed => {
            Some(to_school.ok_or_else(|| FleetRuleError::DeployWithoutSchool(device.serial_number.clone()))?)
        }
        DeviceStatus::Spare => to_school,
        _ => None,
    };
    if device.status == to_status && device.school_id == school_id {
        return Err(FleetRuleError::NoChange(device.serial_number.clone()));
    }
    Ok(Transition { on, status: to_status, school_id })
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn snap(serial: &str, status: DeviceStatus, school: Option<i64>) -> DeviceSnapshot {
        DeviceSnapshot {
            serial_number: serial.into(),
            status,
            school_id: school,
            registered_on: d("2021-04-01"),
            since: d("2021-04-01"),
            model_group: "iPad（小中）".into(),
        }
    }

    #[test]
    fn swap_deploys_the_spare_at_the_broken_devices_school() {
        let dev = snap("A", DeviceStatus::Deployed, Some(7));
        let spare = snap("S", DeviceStatus::Spare, None);
        let (a, b) = incident_transitions(&dev, Some(&spare), d("2022-04-10"), IncidentKind::Damage).unwrap();
        assert_eq!(a, Transition { on: d("2022-04-10"), status: DeviceStatus::InRepair, school_id: None });
        assert_eq!(b, Some(Transition { on: d("2022-04-10"), status: DeviceStatus::Deployed, school_id: Some(7) }));
        let (lost, _) = incident_transitions(&dev, None, d("2022-04-10"), IncidentKind::Theft).unwrap();
        assert_eq!(lost.status, DeviceStatus::Lost);
    }

    #[test]
    fn rejects_what_the_issue_lists() {
        let dev = snap("A", DeviceStatus::Deployed, Some(7));
        let not_spare = snap("B", DeviceStatus::Deployed, Some(8));
        assert!(matches!(
            incident_transitions(&dev, Some(&not_spare), d("2022-04-10"), IncidentKind::Damage),
            Err(FleetRuleError::NotASpare { .. })
        ));
        assert!(matches!(
            incident_transitions(&dev, None, d("2021-03-31"), IncidentKind::Damage),
            Err(FleetRuleError::BeforeRegistration { .. })
        ));
        let mut later = dev.clone();
        later.since = d("2022-05-01");
        assert!(matches!(
            incident_transitions(&later, None, d("2022-04-30"), IncidentKind::Damage),
            Err(FleetRuleError::BeforeLatest { .. })
        ));
        let mut cb = snap("C", DeviceStatus::Spare, None);
        cb.model_group = "Chromebook（高）".into();
        assert!(matches!(
            incident_transitions(&dev, Some(&cb), d("2022-04-10"), IncidentKind::Fault),
            Err(FleetRuleError::GroupMismatch { .. })
        ));
        assert!(matches!(
            incident_transitions(&dev, Some(&dev), d("2022-04-10"), IncidentKind::Fault),
            Err(FleetRuleError::SelfReplacement(_))
        ));
        let repairing = snap("R", DeviceStatus::InRepair, None);
        assert!(incident_transitions(&repairing, None, d("2022-04-10"), IncidentKind::Fault).is_err());
        assert!(repair_transition(&dev, d("2022-04-10")).is_err());
        assert_eq!(repair_transition(&repairing, d("2022-04-10")).unwrap().status, DeviceStatus::Spare);
        assert!(matches!(
            movement_transition(&dev, d("2022-04-10"), DeviceStatus::Deployed, None),
            Err(FleetRuleError::DeployWithoutSchool(_))
        ));
        assert!(matches!(
            movement_transition(&dev, d("2022-04-10"), DeviceStatus::Deployed, Some(7)),
            Err(FleetRuleError::NoChange(_))
        ));
        assert_eq!(
            movement_transition(&dev, d("2022-04-10"), DeviceStatus::Deployed, Some(9)).unwrap().school_id,
            Some(9)
        );
    }
}

/// The comparison key of a device model name or model alias (機種名・機種の別名): Unicode NFKC
/// (full-width letters, digits, parentheses and spaces become their ASCII forms, e.g. `（` → `(`),
/// then lower case, then every whitespace character removed. Two names with the same key are the
/// same model: `iPad（第8世代）`, `ipad (第8世代)` and `ＩＰＡＤ（第８世代）` all give `ipad(第8世代)`;
/// `iPad (8th generation)` gives `ipad(8thgeneration)`. Punctuation other than spaces is kept, so
/// `iPad11,6` and `iPad116` differ.
pub fn model_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfkc().flat_map(char::to_lowercase).filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod model_key_tests {
    use super::model_key;

    #[test]
    fn width_case_and_spaces_do_not_matter() {
        assert_eq!(model_key("iPad（第8世代）"), "ipad(第8世代)");
        assert_eq!(model_key(" ipad (第8世代) "), "ipad(第8世代)");
        assert_eq!(model_key("ＩＰＡＤ（第８世代）"), "ipad(第8世代)");
        assert_eq!(model_key("iPad (8th generation)"), "ipad(8thgeneration)");
        assert_eq!(model_key("Chromebook\u{3000}314"), "chromebook314");
        assert_ne!(model_key("iPad11,6"), model_key("iPad116"));
        assert_eq!(model_key(""), "");
    }

    proptest::proptest! {
        #[test]
        fn keys_have_no_whitespace(s in "\\PC{0,30}") {
            proptest::prop_assert!(!model_key(&s).chars().any(char::is_whitespace));
        }

        #[test]
        fn ascii_case_spaces_and_full_width_are_ignored(s in "[A-Za-z0-9(),. -]{0,30}") {
            let full: String = s
                .chars()
                .map(|c| match c {
                    ' ' => '\u{3000}',
                    '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
                    _ => c,
                })
                .collect();
            proptest::prop_assert_eq!(model_key(&s.to_ascii_uppercase()), model_key(&s));
            proptest::prop_assert_eq!(model_key(&full), model_key(&s));
            proptest::prop_assert_eq!(model_key(&s.replace(' ', "")), model_key(&s));
        }
    }
}
