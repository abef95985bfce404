//! libpq connection URLs as roam's configuration uses them: several hosts in one URL
//! (`postgres://u@h1:p1,h2:p2/db?target_session_attrs=read-write`, a group under
//! pg_auto_failover), which sqlx cannot parse, taken apart into one URL per host.

/// The hosts of a libpq URL, each as a one-host URL sqlx can read (`target_session_attrs`
/// dropped: choosing among the hosts is [`NodePool`]'s job). A one-host URL comes back as it
/// is.
pub fn split_hosts(url: &str) -> anyhow::Result<Vec<(String, String)>> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("not a postgres:// URL"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, hostlist) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let path = drop_param(path, "target_session_attrs");
    let hosts: Vec<&str> = hostlist.split(',').filter(|h| !h.is_empty()).collect();
    anyhow::ensure!(!hosts.is_empty(), "the URL names no host");
    Ok(hosts
        .into_iter()
        .map(|host| {
            (
                host.to_string(),
                format!("{scheme}://{userinfo}{host}{path}"),
            )
        })
        .collect())
}

/// `path` (`/db?a=1&b=2`) without the query parameter `name`.
fn drop_param(path: &str, name: &str) -> String {
    let Some((before, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .collect();
    match kept.as_slice() {
        [] => before.to_string(),
        kept => format!("{before}?{}", kept.join("&")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_host_urls_split_into_one_url_per_host() {
        let hosts = split_hosts(
            "postgres://roam:pw@127.0.0.1:5001,127.0.0.1:5002/roam?target_session_attrs=read-write&sslmode=require",
        )
        .unwrap();
        assert_eq!(
            hosts,
            [
                (
                    "127.0.0.1:5001".to_string(),
                    "postgres://roam:pw@127.0.0.1:5001/roam?sslmode=require".to_string()
                ),
                (
                    "127.0.0.1:5002".to_string(),
                    "postgres://roam:pw@127.0.0.1:5002/roam?sslmode=require".to_string()
                ),
            ]
        );
        let one = split_hosts("postgres://postgres@db:5432/roam").unwrap();
        assert_eq!(
            one,
            [(
                "db:5432".to_string(),
                "postgres://postgres@db:5432/roam".to_string()
            )]
        );
        let bare = split_hosts("postgresql://h1,h2?target_session_attrs=read-write").unwrap();
        assert_eq!(bare[1].1, "postgresql://h2");
        assert!(split_hosts("nonsense").is_err());
        assert!(split_hosts("postgres:///db").is_err());
    }
}
