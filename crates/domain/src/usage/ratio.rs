//! Levels of a usage ratio (使用率 = usage ÷ the pooled contract's capacity), for shading a table
//! of ratios and its legend.
//!
//! The seeds give the ratio (Maebashi's city-wide 37–55 % in 2022) but no thresholds, so the rule
//! is ours: quarters of the contract, and a level of its own for a month over the contract (the
//! pool is used up: ≥ 100 %). Bounds are inclusive below (以上) and exclusive above (未満).

/// The level of a usage ratio. Ordered from the lowest to the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RatioLevel {
    /// Below 25 %.
    Low,
    /// 25 % or more, below 50 %.
    Moderate,
    /// 50 % or more, below 75 %.
    High,
    /// 75 % or more, below 100 %.
    VeryHigh,
    /// 100 % or more: the contract's capacity is used up.
    Over,
}

impl RatioLevel {
    /// Every level, lowest first (the legend's order).
    pub const ALL: [RatioLevel; 5] =
        [RatioLevel::Low, RatioLevel::Moderate, RatioLevel::High, RatioLevel::VeryHigh, RatioLevel::Over];

    /// The level of `ratio` (0.5 = 50 %). A ratio that is not a number (never produced from
    /// bytes) counts as [`RatioLevel::Low`].
    pub fn of(ratio: f64) -> Self {
        match ratio {
            r if r >= 1.0 => RatioLevel::Over,
            r if r >= 0.75 => RatioLevel::VeryHigh,
            r if r >= 0.5 => RatioLevel::High,
            r if r >= 0.25 => RatioLevel::Moderate,
            _ => RatioLevel::Low,
        }
    }

    /// A number from 1 (lowest) to 5 (over the contract), e.g. for a CSS class `ratio-3`.
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }

    /// The legend's label: `25%未満`, `25%以上50%未満`, …, `100%以上（契約通信量を超過）`.
    pub fn label_ja(self) -> &'static str {
        match self {
            RatioLevel::Low => "25%未満",
            RatioLevel::Moderate => "25%以上50%未満",
            RatioLevel::High => "50%以上75%未満",
            RatioLevel::VeryHigh => "75%以上100%未満",
            RatioLevel::Over => "100%以上（契約通信量を超過）",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RatioLevel::{self, *};

    #[test]
    fn bounds_are_inclusive_below() {
        let cases = [
            (0.0, Low),
            (0.2499, Low),
            (0.25, Moderate),
            (0.4617, Moderate), // January 2022: 57,563 ÷ 124,665 GB (seed: 46 %)
            (0.5, High),
            (0.5482, High), // September 2022: 68,216 ÷ 124,440 GB (seed: 55 %)
            (0.7499, High),
            (0.75, VeryHigh),
            (0.9999, VeryHigh),
            (1.0, Over),
            (3.2, Over),
            (f64::NAN, Low),
        ];
        for (ratio, level) in cases {
            assert_eq!(RatioLevel::of(ratio), level, "{ratio}");
        }
        assert_eq!(RatioLevel::ALL.map(RatioLevel::rank), [1, 2, 3, 4, 5]);
        assert!(RatioLevel::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
