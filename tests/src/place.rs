//! Where a simulated user is: workerd's local dev reads `request.cf` from the `MF-CF-Blob`
//! header, so a user in Rome is a user who sends Rome's blob.

/// A user's place, as workerd's local dev reads it from `MF-CF-Blob`.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// The `request.cf` JSON.
    pub blob: &'static str,
    /// The city slug the user lives in.
    pub city: &'static str,
    /// Its home region.
    pub region: &'static str,
}

/// A user in Rome (home: eu-west).
pub const ROME: Place = Place {
    blob: r#"{"country":"IT","city":"Rome","colo":"FCO","latitude":"41.89","longitude":"12.49"}"#,
    city: "rome",
    region: "eu-west",
};

/// A user in Los Angeles (home: us-west).
pub const LOS_ANGELES: Place = Place {
    blob: r#"{"country":"US","city":"Los Angeles","colo":"LAX","latitude":"34.05","longitude":"-118.24"}"#,
    city: "los-angeles",
    region: "us-west",
};

/// A user in New York (home: us-east).
pub const NEW_YORK: Place = Place {
    blob: r#"{"country":"US","city":"New York","colo":"EWR","latitude":"40.71","longitude":"-74.01"}"#,
    city: "new-york",
    region: "us-east",
};
