//! Sample data: users and vehicles in every city of one node's region, MovR-like.
//!
//! Idempotent: ids are derived from (city, kind, index), and rows go in with
//! `ON CONFLICT DO NOTHING`, so re-running adds only what is missing (raising the counts adds
//! the difference). The users' email claims may live on other nodes; they go through the
//! `email_claims` parent, so seed after every node has been migrated.

use roam_shared::email_claim::{claim_region, ClaimKeys};
use roam_shared::signature::body_digest;
use roam_shared::RegionMap;
use sqlx::PgPool;
use uuid::Uuid;

/// The password of every seeded user (development data only).
pub const SEED_PASSWORD: &str = "roam-seed-password";

/// What was asked for, and how much was new.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Users inserted now.
    pub users: u64,
    /// Vehicles inserted now.
    pub vehicles: u64,
}

/// A stable id for the `index`th `kind` of `city`.
pub fn seed_id(city: &str, kind: &str, index: u32) -> Uuid {
    let digest = body_digest(format!("roam-seed/{city}/{kind}/{index}").as_bytes());
    let value = u128::from_str_radix(&digest[..32], 16).unwrap_or_default();
    // Mark it as a version-4-shaped (random-looking) UUID, as the rest of the ids are.
    uuid::Builder::from_u128(value)
        .with_version(uuid::Version::Random)
        .into_uuid()
}

/// The email of the `index`th seeded user of `city`.
pub fn seed_email(city: &str, index: u32) -> String {
    format!("rider{index}.{city}@seed.roam.dev")
}

const TYPES: [&str; 3] = ["bike", "scooter", "skateboard"];
const COLORS: [&str; 6] = ["red", "blue", "green", "black", "white", "yellow"];
const BRANDS: [&str; 5] = ["Lime", "Bird", "Dott", "Tier", "Voi"];
const STREETS: [&str; 6] = [
    "Main St",
    "Market St",
    "Park Ave",
    "Station Rd",
    "River Walk",
    "Old Town Sq",
];

/// Seeds `region`'s cities with `users_per_city` users and `vehicles_per_city` vehicles.
pub async fn seed(
    pool: &PgPool,
    map: &RegionMap,
    region: &str,
    users_per_city: u32,
    vehicles_per_city: u32,
    password_hash: &str,
    keys: &ClaimKeys,
) -> anyhow::Result<Seeded> {
    let mut seeded = Seeded::default();
    for city in map.cities_in(region) {
        let users: Vec<SeedUser> = (0..users_per_city)
            .map(|i| SeedUser {
                id: seed_id(&city.slug, "user", i),
                email: seed_email(&city.slug, i),
                name: format!("Rider {i} of {}", city.name),
            })
            .collect();
        seeded.users += seed_users(pool, &city.slug, &users, password_hash).await?;
        // Claims are written separately: they may live on other nodes, and a seeded email
        // claimed by an earlier run (same id) is simply skipped.
        seed_claims(pool, map, &city.slug, &users, keys).await?;
        for chunk in (0..vehicles_per_city).collect::<Vec<_>>().chunks(5000) {
            seeded.vehicles += seed_vehicles(pool, city, chunk, users_per_city).await?;
        }
    }
    Ok(seeded)
}

/// A seeded user.
struct SeedUser {
    id: Uuid,
    email: String,
    name: String,
}

async fn seed_users(
    pool: &PgPool,
    city: &str,
    users: &[SeedUser],
    password_hash: &str,
) -> anyhow::Result<u64> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    Ok(sqlx::query(
        "INSERT INTO users (city, id, name, email, password_hash) \
         SELECT $1, id, name, email, $5 FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u(id, name, email) \
         ON CONFLICT DO NOTHING",
    )
    .bind(city)
    .bind(&ids)
    .bind(&names)
    .bind(&emails)
    .bind(password_hash)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The users' email claims under every key in force, through the `email_claims` parent.
async fn seed_claims(
    pool: &PgPool,
    map: &RegionMap,
    city: &str,
    users: &[SeedUser],
    keys: &ClaimKeys,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    for key in keys.all() {
        let hashes: Vec<String> = users.iter().map(|u| key.hash(&u.email)).collect();
        let regions: Vec<String> = hashes
            .iter()
            .map(|h| claim_region(map, h).name.clone())
            .collect();
        sqlx::query(
            "INSERT INTO email_claims (region, email_hash, key_id, user_id, city) \
             SELECT region, email_hash, $2, id, $1 \
             FROM unnest($3::text[], $4::text[], $5::uuid[]) AS c(region, email_hash, id) \
             ON CONFLICT DO NOTHING",
        )
        .bind(city)
        .bind(key.id())
        .bind(&regions)
        .bind(&hashes)
        .bind(&ids)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Vehicles number `indexes` of `city`, owned by its seeded users in turn.
async fn seed_vehicles(
    pool: &PgPool,
    city: &roam_shared::City,
    indexes: &[u32],
    users_per_city: u32,
) -> anyhow::Result<u64> {
    let slug = city.slug.as_str();
    let pick = |i: u32, n: usize| i as usize % n;
    let ids: Vec<Uuid> = indexes
        .iter()
        .map(|&i| seed_id(slug, "vehicle", i))
        .collect();
    let types: Vec<&str> = indexes
        .iter()
        .map(|&i| TYPES[pick(i, TYPES.len())])
        .collect();
    let colors: Vec<&str> = indexes
        .iter()
        .map(|&i| COLORS[pick(i / 3, COLORS.len())])
        .collect();
    let brands: Vec<&str> = indexes
        .iter()
        .map(|&i| BRANDS[pick(i / 7, BRANDS.len())])
        .collect();
    let locations: Vec<String> = indexes
        .iter()
        .map(|&i| {
            format!(
                "{} {}, {}",
                1 + i % 200,
                STREETS[pick(i / 11, STREETS.len())],
                city.name
            )
        })
        .collect();
    let owners: Vec<Uuid> = indexes
        .iter()
        .map(|&i| seed_id(slug, "user", i.checked_rem(users_per_city).unwrap_or(0)))
        .collect();
    Ok(sqlx::query(
        "INSERT INTO vehicles (city, id, type, owner_id, status, last_location, color, brand) \
         SELECT $1, id, type, owner, 'available', loc, color, brand \
         FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[]) \
         AS v(id, type, owner, loc, color, brand) ON CONFLICT DO NOTHING",
    )
    .bind(slug)
    .bind(&ids)
    .bind(&types)
    .bind(&owners)
    .bind(&locations)
    .bind(&colors)
    .bind(&brands)
    .execute(pool)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(seed_id("rome", "vehicle", 1), seed_id("rome", "vehicle", 1));
        assert_ne!(seed_id("rome", "vehicle", 1), seed_id("rome", "vehicle", 2));
        assert_ne!(
            seed_id("rome", "vehicle", 1),
            seed_id("paris", "vehicle", 1)
        );
        assert_eq!(seed_id("rome", "user", 0).get_version_num(), 4);
        assert_eq!(seed_email("new-york", 3), "rider3.new-york@seed.roam.dev");
    }
}
