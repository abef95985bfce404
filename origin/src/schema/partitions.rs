//! Keeping existing partitions' bounds in step with the map.
//!
//! [`crate::schema::topology`] creates what is missing; this module changes what exists but no
//! longer matches: a city added to a region widens that region's partitions on every node. A local
//! partition is detached and attached again with the new list (PostgreSQL checks its rows
//! against the new bound, so a city whose rows are still there cannot silently leave it); a
//! foreign partition holds no data, so it is dropped and the topology creates it anew.
//! Partitions of regions that left the map are left alone: dropping data is not a migration's
//! call.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;

use super::names::{local_table, CITY_TABLES};
use roam_shared::RegionMap;

/// A partition as the node has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// The partitioned parent, e.g. `users`.
    pub parent: String,
    /// The partition, e.g. `users_eu_west`.
    pub name: String,
    /// Whether it is a foreign table.
    pub foreign: bool,
    /// Its list of values.
    pub values: BTreeSet<String>,
}

/// The bound every partition should have, by partition name.
fn wanted(map: &RegionMap) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for region in &map.regions {
        let cities: BTreeSet<String> = map
            .cities_in(&region.name)
            .map(|c| c.slug.clone())
            .collect();
        for (table, _) in CITY_TABLES {
            out.insert(local_table(table, &region.name), cities.clone());
        }
        out.insert(
            local_table("email_claims", &region.name),
            BTreeSet::from([region.name.clone()]),
        );
    }
    out
}

/// The statements that bring existing partitions to the map's bounds: every detach and drop
/// first (a city moving between regions must leave one partition before it joins another),
/// then the attaches. Run before the topology, which recreates dropped foreign partitions.
pub fn reconcile_sql(existing: &[Existing], map: &RegionMap) -> Vec<String> {
    let wanted = wanted(map);
    let mut detach = Vec::new();
    let mut attach = Vec::new();
    for e in existing {
        let Some(values) = wanted.get(&e.name) else {
            continue;
        };
        if *values == e.values || values.is_empty() {
            continue;
        }
        if e.foreign {
            detach.push(format!("DROP FOREIGN TABLE \"{}\"", e.name));
        } else {
            let list: Vec<String> = values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect();
            detach.push(format!(
                "ALTER TABLE {} DETACH PARTITION \"{}\"",
                e.parent, e.name
            ));
            attach.push(format!(
                "ALTER TABLE {} ATTACH PARTITION \"{}\" FOR VALUES IN ({})",
                e.parent,
                e.name,
                list.join(", ")
            ));
        }
    }
    detach.extend(attach);
    detach
}

/// The values of a `FOR VALUES IN ('a', 'b')` bound as `pg_get_expr` prints it.
pub fn parse_bound(bound: &str) -> BTreeSet<String> {
    bound
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The partitions of roam's partitioned tables on this node.
pub async fn existing(conn: &mut PgConnection) -> sqlx::Result<Vec<Existing>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT p.relname::text, c.relname::text, c.relkind::text, pg_get_expr(c.relpartbound, c.oid) \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
         WHERE p.relname = ANY($1) AND c.relpartbound IS NOT NULL",
    )
    .bind(
        CITY_TABLES
            .iter()
            .map(|(t, _)| t.to_string())
            .chain(["email_claims".to_string()])
            .collect::<Vec<_>>(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(parent, name, kind, bound)| Existing {
            parent,
            name,
            foreign: kind == "f",
            values: parse_bound(&bound),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(name: &str, parent: &str, foreign: bool, values: &[&str]) -> Existing {
        Existing {
            parent: parent.into(),
            name: name.into(),
            foreign,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn a_new_city_widens_its_regions_partitions_everywhere() {
        let mut map = RegionMap::builtin().clone();
        let mut city = map.cities[0].clone();
        city.slug = "philadelphia".into();
        city.name = "Philadelphia".into();
        city.aliases.clear();
        map.cities.push(city);
        map.validate().unwrap();
        let east = ["boston", "new-york", "washington-dc"];
        let current = [
            existing("users_us_east", "users", false, &east),
            existing("rides_us_east", "rides", true, &east),
            existing(
                "users_eu_west",
                "users",
                false,
                &["amsterdam", "paris", "rome"],
            ),
            existing("email_claims_us_east", "email_claims", false, &["us-east"]),
            existing("users_ap_south", "users", true, &["mumbai"]),
        ];
        let sql = reconcile_sql(&current, &map);
        assert_eq!(
            sql,
            [
                "ALTER TABLE users DETACH PARTITION \"users_us_east\"",
                "DROP FOREIGN TABLE \"rides_us_east\"",
                "ALTER TABLE users ATTACH PARTITION \"users_us_east\" FOR VALUES IN \
                 ('boston', 'new-york', 'philadelphia', 'washington-dc')",
            ]
        );
        assert!(
            reconcile_sql(&current, RegionMap::builtin()).is_empty(),
            "nothing to do"
        );
        assert_eq!(
            parse_bound("FOR VALUES IN ('amsterdam', 'paris', 'rome')"),
            BTreeSet::from(["amsterdam".into(), "paris".into(), "rome".into()])
        );
    }
}
