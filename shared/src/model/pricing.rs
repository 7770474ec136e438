//! Approximate on-demand prices of SageMaker ML instances, for savings estimates.
//!
//! USD per instance-hour for real-time inference in us-east-1 (published list prices, 2026);
//! other regions and notebooks differ by a few percent, which is fine for an estimate.
//! Studio apps (JupyterLab, Code Editor, KernelGateway) run on the same `ml.*` types at
//! about the same prices. `PRICE_OVERRIDES` replaces or adds entries.

use std::collections::BTreeMap;

const PRICES: &[(&str, f64)] = &[
    ("ml.t2.medium", 0.056),
    ("ml.t2.large", 0.111),
    ("ml.t2.xlarge", 0.222),
    ("ml.t2.2xlarge", 0.445),
    ("ml.t3.medium", 0.05),
    ("ml.t3.large", 0.1),
    ("ml.t3.xlarge", 0.2),
    ("ml.t3.2xlarge", 0.399),
    ("ml.m5.large", 0.115),
    ("ml.m5.xlarge", 0.23),
    ("ml.m5.2xlarge", 0.461),
    ("ml.m5.4xlarge", 0.922),
    ("ml.m5.12xlarge", 2.765),
    ("ml.m5.24xlarge", 5.53),
    ("ml.m5d.large", 0.136),
    ("ml.m5d.xlarge", 0.271),
    ("ml.m5d.2xlarge", 0.542),
    ("ml.m6i.large", 0.115),
    ("ml.m6i.xlarge", 0.23),
    ("ml.m6i.2xlarge", 0.461),
    ("ml.c5.large", 0.102),
    ("ml.c5.xlarge", 0.204),
    ("ml.c5.2xlarge", 0.408),
    ("ml.c5.4xlarge", 0.816),
    ("ml.c5.9xlarge", 1.836),
    ("ml.c6i.large", 0.102),
    ("ml.c6i.xlarge", 0.204),
    ("ml.r5.large", 0.151),
    ("ml.r5.xlarge", 0.302),
    ("ml.r5.2xlarge", 0.605),
    ("ml.g4dn.xlarge", 0.736),
    ("ml.g4dn.2xlarge", 0.94),
    ("ml.g4dn.4xlarge", 1.505),
    ("ml.g4dn.12xlarge", 4.89),
    ("ml.g5.xlarge", 1.408),
    ("ml.g5.2xlarge", 1.515),
    ("ml.g5.4xlarge", 2.03),
    ("ml.g5.12xlarge", 7.09),
    ("ml.g6.xlarge", 1.006),
    ("ml.inf1.xlarge", 0.297),
    ("ml.inf2.xlarge", 0.99),
    ("ml.p3.2xlarge", 3.825),
    ("ml.p4d.24xlarge", 37.688),
];

/// A Canvas workspace instance, USD per hour while a user is logged in (the "Session-Hrs"
/// of https://aws.amazon.com/sagemaker/canvas/pricing/, us-east-1, 2026).
pub const CANVAS_SESSION_HOURLY_USD: f64 = 1.90;

/// The price-table entry of a Canvas session, so `PRICE_OVERRIDES` can replace it.
pub const CANVAS_SESSION: &str = "canvas-session";

/// Prices with the configured overrides applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    overrides: BTreeMap<String, f64>,
}

impl PriceTable {
    pub fn new(overrides: BTreeMap<String, f64>) -> Self {
        PriceTable { overrides }
    }

    /// USD per hour for one instance, or `None` for a type the table does not know.
    pub fn hourly(&self, instance_type: &str) -> Option<f64> {
        self.overrides.get(instance_type).copied().or_else(|| {
            PRICES
                .iter()
                .find(|(name, _)| *name == instance_type)
                .map(|(_, price)| *price)
        })
    }

    /// USD per hour of one Canvas session (a logged-in user's workspace instance).
    pub fn canvas_session(&self) -> f64 {
        self.overrides
            .get(CANVAS_SESSION)
            .copied()
            .unwrap_or(CANVAS_SESSION_HOURLY_USD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_unknown_types_have_no_price() {
        let table = PriceTable::new(BTreeMap::from([("ml.m5.large".to_owned(), 0.2)]));
        assert_eq!(table.hourly("ml.m5.large"), Some(0.2));
        assert_eq!(table.hourly("ml.c5.xlarge"), Some(0.204));
        assert_eq!(table.hourly("ml.unknown.huge"), None);
        assert_eq!(table.canvas_session(), 1.90);
        let table = PriceTable::new(BTreeMap::from([(CANVAS_SESSION.to_owned(), 2.5)]));
        assert_eq!(table.canvas_session(), 2.5);
    }
}
