//! 年度 (fiscal/school year, 1 April – 31 March), 和暦 (Japanese era years) and calendar months.
//!
//! Sources: 年度 = 1 April – 31 March (学校教育法施行規則 第59条 for the school year, 地方自治法 第208条 for a
//! municipality's fiscal year); era start dates from the 元号を改める政令 (平成: 1989-01-08, 令和: 2019-05-01).

use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::str::FromStr;

/// Japan Standard Time, UTC+9 all year (no daylight saving).
pub fn jst() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("a valid offset")
}

/// The date in Japan at the UTC instant `t`.
pub fn jst_date(t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    t.with_timezone(&jst()).date_naive()
}

/// The UTC instant `t` as `YYYY-MM-DD HH:MM` in Japan (how the UI shows times).
pub fn jst_minute(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&jst()).format("%Y-%m-%d %H:%M").to_string()
}

/// A calendar month, e.g. `2022-04`. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

/// Error from parsing a year, month or fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The text is not a month `YYYY-MM` (or `YYYY/MM`, `YYYYMM`).
    #[error("「{0}」は年月ではありません（例: 2022-04）")]
    BadMonth(String),
    /// The text is not a fiscal year (`2022`, `R4`, `令和4`, `令和4年度`, `H30`).
    #[error("「{0}」は年度ではありません（例: 2022, R4, 令和4年度）")]
    BadFiscalYear(String),
    /// The year is outside 1989..=2200, the range gigaops handles.
    #[error("年 {0} は対象範囲（1989〜2200）外です")]
    OutOfRange(i32),
}

const MIN_YEAR: i32 = 1989;
const MAX_YEAR: i32 = 2200;

impl YearMonth {
    /// Builds a month; `month` is 1..=12 and `year` 1989..=2200, otherwise `None`.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (MIN_YEAR..=MAX_YEAR).contains(&year)).then_some(Self { year, month })
    }
    /// The month that contains `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }
    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        self.month
    }
    /// First day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid by construction")
    }
    /// Last day of the month (28–31).
    pub fn last_day(self) -> NaiveDate {
        self.add_months(1).first_day().pred_opt().expect("valid by construction")
    }
    /// The month `n` months later (`n` may be negative).
    pub fn add_months(self, n: i32) -> Self {
        let idx = self.year * 12 + self.month as i32 - 1 + n;
        Self { year: idx.div_euclid(12), month: (idx.rem_euclid(12) + 1) as u32 }
    }
    /// Months from `self` to `other` (positive when `other` is later).
    pub fn months_until(self, other: Self) -> i32 {
        (other.year * 12 + other.month as i32) - (self.year * 12 + self.month as i32)
    }
    /// The fiscal year (年度) the month belongs to: April–March.
    pub fn fiscal_year(self) -> FiscalYear {
        FiscalYear(if self.month >= 4 { self.year } else { self.year - 1 })
    }
    /// Japanese label, e.g. `4月`.
    pub fn label_ja(self) -> String {
        format!("{}月", self.month)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = CalendarError;
    /// Accepts `YYYY-MM`, `YYYY/MM`, `YYYYMM` and `YYYY-MM-DD` (the day is ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || CalendarError::BadMonth(s.to_string());
        let (y, m) = if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            (&t[..4], &t[4..])
        } else {
            let mut parts = t.split(['-', '/']);
            let y = parts.next().ok_or_else(bad)?;
            let m = parts.next().ok_or_else(bad)?;
            if let Some(d) = parts.next() {
                d.parse::<u32>().map_err(|_| bad())?;
            }
            if parts.next().is_some() {
                return Err(bad());
            }
            (y, m)
        };
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        YearMonth::new(y, m).ok_or_else(bad)
    }
}

/// 年度: `FiscalYear(2022)` = 令和4年度 = R4, running 2022-04-01 … 2023-03-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FiscalYear(pub i32);

/// A Japanese era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 平成, from 1989-01-08.
    Heisei,
    /// 令和, from 2019-05-01.
    Reiwa,
}

impl Era {
    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }
    /// Gregorian year of the era's first year (元年).
    fn first_year(self) -> i32 {
        match self {
            Era::Heisei => 1989,
            Era::Reiwa => 2019,
        }
    }
    fn letter(self) -> char {
        match self {
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }
}

impl FiscalYear {
    /// Parses `2022`, `R4`, `r4`, `令和4`, `令和4年度`, `令和元年度`, `Ｒ４`, `H30`, `平成30年度`.
    ///
    /// Errors: [`CalendarError::BadFiscalYear`] for anything else, [`CalendarError::OutOfRange`] for
    /// a year outside 1989..=2200.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        let norm: String = s.trim().chars().map(fullwidth_to_ascii).collect();
        let bad = || CalendarError::BadFiscalYear(s.to_string());
        let t = norm.trim_end_matches("年度").trim_end_matches('年');
        let (era, rest) = if let Some(r) = t.strip_prefix("令和") {
            (Some(Era::Reiwa), r)
        } else if let Some(r) = t.strip_prefix("平成") {
            (Some(Era::Heisei), r)
        } else if let Some(r) = t.strip_prefix(['R', 'r']) {
            (Some(Era::Reiwa), r)
        } else if let Some(r) = t.strip_prefix(['H', 'h']) {
            (Some(Era::Heisei), r)
        } else {
            (None, t)
        };
        let year = match era {
            Some(e) => {
                let n: i32 = if rest == "元" { 1 } else { rest.parse().map_err(|_| bad())? };
                if !(1..=300).contains(&n) {
                    return Err(bad());
                }
                e.first_year() + n - 1
            }
            None => {
                if rest.len() != 4 {
                    return Err(bad());
                }
                rest.parse().map_err(|_| bad())?
            }
        };
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(CalendarError::OutOfRange(year));
        }
        Ok(FiscalYear(year))
    }
    /// The fiscal year containing `date`.
    pub fn of(date: NaiveDate) -> Self {
        YearMonth::of(date).fiscal_year()
    }
    /// 1 April of the year.
    pub fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 4, 1).expect("valid")
    }
    /// 31 March of the next calendar year.
    pub fn end(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 3, 31).expect("valid")
    }
    /// The twelve months April … March.
    pub fn months(self) -> [YearMonth; 12] {
        let april = YearMonth { year: self.0, month: 4 };
        std::array::from_fn(|i| april.add_months(i as i32))
    }
    pub fn previous(self) -> Self {
        FiscalYear(self.0 - 1)
    }
    /// The era in force on 1 April of the year (a fiscal year is named by its April).
    pub fn era(self) -> Era {
        if self.0 >= 2019 {
            Era::Reiwa
        } else {
            Era::Heisei
        }
    }
    /// `令和4年度`; 2019 is `令和元年度` (the 年度 beginning April 2019 is called 令和元年度 by convention).
    pub fn label_ja(self) -> String {
        let era = self.era();
        let n = self.0 - era.first_year() + 1;
        if n == 1 {
            format!("{}元年度", era.name_ja())
        } else {
            format!("{}{}年度", era.name_ja(), n)
        }
    }
    /// `R4`, `H30`.
    pub fn short_label(self) -> String {
        let era = self.era();
        format!("{}{}", era.letter(), self.0 - era.first_year() + 1)
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for FiscalYear {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// 和暦 date label, e.g. `令和4年4月1日`, `令和元年5月1日`, `平成31年4月30日`.
/// Dates before 1989-01-08 are shown in ISO form.
pub fn wareki_date(date: NaiveDate) -> String {
    match wareki_year(date) {
        Some(y) => format!("{y}{}月{}日", date.month(), date.day()),
        None => date.to_string(),
    }
}

/// 和暦 month label, e.g. `令和4年12月`, `令和元年5月`, `平成31年4月` (the era in force on the
/// month's first day); a month starting before 平成 as `1989年1月`.
pub fn wareki_month(month: YearMonth) -> String {
    let date = month.first_day();
    match wareki_year(date) {
        Some(y) => format!("{y}{}月", date.month()),
        None => format!("{}年{}月", date.year(), date.month()),
    }
}

/// `令和4年`, `令和元年`, `平成31年` for `date`; `None` before 1989-01-08.
fn wareki_year(date: NaiveDate) -> Option<String> {
    let reiwa = NaiveDate::from_ymd_opt(2019, 5, 1).expect("valid");
    let heisei = NaiveDate::from_ymd_opt(1989, 1, 8).expect("valid");
    let era = if date >= reiwa {
        Era::Reiwa
    } else if date >= heisei {
        Era::Heisei
    } else {
        return None;
    };
    let n = date.year() - era.first_year() + 1;
    let y = if n == 1 { "元".to_string() } else { n.to_string() };
    Some(format!("{}{y}年", era.name_ja()))
}

/// Maps full-width digits and Latin letters (Ｒ４) to ASCII; leaves other characters alone.
pub fn fullwidth_to_ascii(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '－' => '-',
        '／' => '/',
        _ => c,
    }
}

/// Parses a civil date: `YYYY-MM-DD`, `YYYY/MM/DD` (1-digit month/day allowed), or an Excel-style
/// `YYYY-MM-DD HH:MM:SS` timestamp (the time is dropped). Returns `None` for anything else.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let norm: String = s.trim().chars().map(fullwidth_to_ascii).collect();
    let day_part = norm.split([' ', 'T']).next()?;
    let mut it = day_part.split(['-', '/', '.']);
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(MIN_YEAR..=MAX_YEAR).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A period reports can be opened on: a month or a fiscal year.
pub trait Period: Copy + Ord {
    /// How far apart two periods are, in the period's own unit (months, years); never negative.
    fn distance(self, other: Self) -> i64;
}

impl Period for YearMonth {
    fn distance(self, other: Self) -> i64 {
        i64::from(self.months_until(other)).abs()
    }
}

impl Period for FiscalYear {
    fn distance(self, other: Self) -> i64 {
        (i64::from(self.0) - i64::from(other.0)).abs()
    }
}

/// The period of `have` nearest to `want` — `want` itself when `have` holds it, else the closest
/// (the later one when two are as close); `None` when `have` is empty. The rule by which a report
/// whose period has no data points to one that has (the fleet report to a fiscal year with
/// recorded events, the work list to an evaluated month).
pub fn nearest_with_data<T: Period>(have: &[T], want: T) -> Option<T> {
    have.iter().copied().min_by_key(|p| (p.distance(want), std::cmp::Reverse(*p)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_nearest_period_with_data_is_the_period_itself_else_the_closest_later_on_a_tie() {
        let m = |y, mo| YearMonth::new(y, mo).unwrap();
        let have = [m(2022, 9), m(2022, 10), m(2022, 12)];
        assert_eq!(nearest_with_data(&have, m(2022, 10)), Some(m(2022, 10)));
        assert_eq!(nearest_with_data(&have, m(2022, 11)), Some(m(2022, 12)), "a tie goes to the later month");
        assert_eq!(nearest_with_data(&have, m(2026, 11)), Some(m(2022, 12)));
        assert_eq!(nearest_with_data(&have, m(2021, 1)), Some(m(2022, 9)));
        assert_eq!(nearest_with_data(&[FiscalYear(2021), FiscalYear(2022)], FiscalYear(2026)), Some(FiscalYear(2022)));
        assert_eq!(nearest_with_data::<FiscalYear>(&[], FiscalYear(2026)), None);
    }
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_fiscal_year_forms() {
        for s in ["2022", "R4", "r4", "令和4", "令和4年度", "Ｒ４", "令和４年度"] {
            assert_eq!(FiscalYear::parse(s), Ok(FiscalYear(2022)), "{s}");
        }
        assert_eq!(FiscalYear::parse("令和元年度"), Ok(FiscalYear(2019)));
        assert_eq!(FiscalYear::parse("H30"), Ok(FiscalYear(2018)));
        assert_eq!(FiscalYear::parse("平成30年度"), Ok(FiscalYear(2018)));
        assert!(FiscalYear::parse("R").is_err());
        assert!(FiscalYear::parse("22").is_err());
        assert!(FiscalYear::parse("R0").is_err());
        assert!(FiscalYear::parse("").is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(FiscalYear(2022).label_ja(), "令和4年度");
        assert_eq!(FiscalYear(2019).label_ja(), "令和元年度");
        assert_eq!(FiscalYear(2018).label_ja(), "平成30年度");
        assert_eq!(FiscalYear(2022).short_label(), "R4");
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(wareki_date(d(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(wareki_date(d(2019, 4, 30)), "平成31年4月30日");
        assert_eq!(wareki_date(d(1989, 1, 8)), "平成元年1月8日");
        assert_eq!(wareki_date(d(2022, 4, 1)), "令和4年4月1日");
        let ym = |y, m| YearMonth::new(y, m).unwrap();
        assert_eq!(wareki_month(ym(2022, 12)), "令和4年12月");
        assert_eq!(wareki_month(ym(2019, 5)), "令和元年5月");
        assert_eq!(wareki_month(ym(2019, 4)), "平成31年4月");
        assert_eq!(wareki_month(ym(1989, 1)), "1989年1月");
    }

    #[test]
    fn fiscal_months_run_april_to_march() {
        let m = FiscalYear(2022).months();
        assert_eq!(m[0].to_string(), "2022-04");
        assert_eq!(m[11].to_string(), "2023-03");
        assert_eq!(YearMonth::new(2023, 2).unwrap().last_day(), NaiveDate::from_ymd_opt(2023, 2, 28).unwrap());
        assert_eq!(YearMonth::new(2024, 2).unwrap().last_day(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    }

    #[test]
    fn parses_months_and_dates() {
        assert_eq!("2022-09".parse::<YearMonth>().unwrap(), YearMonth::new(2022, 9).unwrap());
        assert_eq!("202209".parse::<YearMonth>().unwrap(), YearMonth::new(2022, 9).unwrap());
        assert!("2022-13".parse::<YearMonth>().is_err());
        assert!("abc".parse::<YearMonth>().is_err());
        assert_eq!(parse_date("2022/4/1"), NaiveDate::from_ymd_opt(2022, 4, 1));
        assert_eq!(parse_date("2022-04-01 10:00:00"), NaiveDate::from_ymd_opt(2022, 4, 1));
        assert_eq!(parse_date("2022-02-30"), None);
        assert_eq!(parse_date(""), None);
    }

    proptest! {
        #[test]
        fn every_date_belongs_to_the_fiscal_year_that_contains_it(days in 0i64..60000) {
            let d = NaiveDate::from_ymd_opt(1989, 1, 8).unwrap() + chrono::Duration::days(days);
            let fy = FiscalYear::of(d);
            prop_assert!(fy.start() <= d && d <= fy.end());
            prop_assert!(fy.months().contains(&YearMonth::of(d)));
        }

        #[test]
        fn fiscal_year_labels_round_trip(y in 1989i32..2200) {
            let fy = FiscalYear(y);
            prop_assert_eq!(FiscalYear::parse(&fy.label_ja()), Ok(fy));
            prop_assert_eq!(FiscalYear::parse(&fy.short_label()), Ok(fy));
            prop_assert_eq!(FiscalYear::parse(&fy.to_string()), Ok(fy));
        }

        #[test]
        fn month_text_round_trips(y in 1989i32..2200, m in 1u32..=12, k in -500i32..500) {
            let ym = YearMonth::new(y, m).unwrap();
            prop_assert_eq!(ym.to_string().parse::<YearMonth>(), Ok(ym));
            prop_assert_eq!(ym.months_until(ym.add_months(k)), k);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,12}") {
            let _ = FiscalYear::parse(&s);
            let _ = s.parse::<YearMonth>();
            let _ = parse_date(&s);
        }
    }
}
