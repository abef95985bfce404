//! Ride prices (MovR's revenue): a base fee plus a price per started minute, by vehicle type,
//! in the city's currency. The prices are data (`origin/prices.json`, or the file
//! `ROAM_PRICES` names), checked at start against the region map.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use roam_shared::api::VehicleType;
use roam_shared::RegionMap;
use serde::Deserialize;

/// The built-in price table.
const BUILTIN: &str = include_str!("../../prices.json");

/// The price of one vehicle type in one currency, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Paid once per ride.
    pub base_cents: i64,
    /// Paid per started minute (at least one).
    pub per_minute_cents: i64,
}

/// Prices by currency, then vehicle type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PriceTable {
    currencies: BTreeMap<String, BTreeMap<String, Price>>,
}

/// A computed fare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fare {
    /// Amount in minor units.
    pub cents: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl PriceTable {
    /// The built-in table.
    pub fn builtin() -> anyhow::Result<Self> {
        Self::from_json(BUILTIN).context("origin/prices.json")
    }

    /// Reads a table (the `_comment` key and other extras at the top level are ignored).
    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(json)?)
    }

    /// Loads the file at `path`.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_json(&json).with_context(|| format!("{} is invalid", path.display()))
    }

    /// Every city's currency has a non-negative price for every vehicle type, and every type
    /// named is one.
    pub fn validate(&self, map: &RegionMap) -> anyhow::Result<()> {
        for (currency, prices) in &self.currencies {
            if let Some(kind) = prices.keys().find(|k| VehicleType::parse(k).is_none()) {
                bail!("`{kind}` in {currency} is not a vehicle type");
            }
        }
        for city in &map.cities {
            let Some(prices) = self.currencies.get(&city.currency) else {
                bail!(
                    "no prices in {} (the currency of {})",
                    city.currency,
                    city.slug
                );
            };
            for kind in [
                VehicleType::Bike,
                VehicleType::Scooter,
                VehicleType::Skateboard,
            ] {
                match prices.get(kind.as_str()) {
                    Some(p) if p.base_cents >= 0 && p.per_minute_cents >= 0 => {}
                    Some(_) => bail!("negative price for {} in {}", kind.as_str(), city.currency),
                    None => bail!("no price for {} in {}", kind.as_str(), city.currency),
                }
            }
        }
        Ok(())
    }

    /// The fare of a ride on `kind` from `start` to `end`, in `currency`.
    pub fn fare(
        &self,
        currency: &str,
        kind: VehicleType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Option<Fare> {
        let price = self.currencies.get(currency)?.get(kind.as_str())?;
        Some(Fare {
            cents: price.base_cents + price.per_minute_cents * billed_minutes(start, end),
            currency: currency.to_string(),
        })
    }
}

/// Started minutes, at least one (a clock that went backwards bills one minute).
pub fn billed_minutes(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let seconds = (end - start).num_seconds().max(0);
    ((seconds + 59) / 60).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_builtin_table_covers_the_builtin_map() {
        let table = PriceTable::builtin().unwrap();
        table.validate(RegionMap::builtin()).unwrap();
    }

    #[test]
    fn a_fare_is_base_plus_started_minutes() {
        let table = PriceTable::builtin().unwrap();
        let start = Utc::now();
        let fare = |secs, kind| {
            table
                .fare("EUR", kind, start, start + Duration::seconds(secs))
                .unwrap()
                .cents
        };
        assert_eq!(fare(0, VehicleType::Scooter), 100 + 29);
        assert_eq!(fare(60, VehicleType::Scooter), 100 + 29);
        assert_eq!(fare(61, VehicleType::Scooter), 100 + 2 * 29);
        assert_eq!(fare(600, VehicleType::Bike), 100 + 10 * 15);
        assert_eq!(billed_minutes(start, start - Duration::seconds(5)), 1);
        assert!(table.fare("JPY", VehicleType::Bike, start, start).is_none());
    }

    #[test]
    fn a_table_missing_a_currency_or_type_is_refused() {
        let map = RegionMap::builtin();
        let only_usd = r#"{"currencies": {"USD": {
            "bike": {"base_cents": 1, "per_minute_cents": 1},
            "scooter": {"base_cents": 1, "per_minute_cents": 1},
            "skateboard": {"base_cents": 1, "per_minute_cents": 1}}}}"#;
        let err = PriceTable::from_json(only_usd)
            .unwrap()
            .validate(map)
            .unwrap_err();
        assert!(err.to_string().contains("EUR"), "{err}");
        let no_skateboard = r#"{"currencies": {"USD": {
            "bike": {"base_cents": 1, "per_minute_cents": 1},
            "scooter": {"base_cents": 1, "per_minute_cents": 1}}}}"#;
        let err = PriceTable::from_json(no_skateboard)
            .unwrap()
            .validate(map)
            .unwrap_err();
        assert!(err.to_string().contains("skateboard"), "{err}");
        let car = r#"{"currencies": {"USD": {"car": {"base_cents": 1, "per_minute_cents": 1}}}}"#;
        let err = PriceTable::from_json(car)
            .unwrap()
            .validate(map)
            .unwrap_err();
        assert!(err.to_string().contains("car"), "{err}");
    }
}
