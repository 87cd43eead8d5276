//! Device fleet: statuses, incident kinds, the state changes an incident or movement causes, and
//! the spare-stock projection of the monthly report 「学習者用端末の運用状況」 (Maebashi, seed 003).

use crate::calendar::YearMonth;
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
/// Rule chosen for gigaops (issue 2 leaves the details open): rate = (stock 6 months before − stock
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
