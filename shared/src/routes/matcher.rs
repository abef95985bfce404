//! Matching a path with the table's templates, without allocating: parameters borrow from the
//! path.

use super::{ApiRoute, Method, ROUTES};

/// Most parameters a template has.
const MAX_PARAMS: usize = 2;

/// A path that matched a template: the routes under that template (one per method) and the
/// path's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathMatch<'a> {
    routes: &'static [ApiRoute],
    values: [&'a str; MAX_PARAMS],
}

/// The template `path` (no query) matches, if any. A path matching no template is a 404; one
/// whose method [`PathMatch::route`] does not find is a 405.
pub fn find(path: &str) -> Option<PathMatch<'_>> {
    let mut start = 0;
    while let Some(first) = ROUTES.get(start) {
        let same = ROUTES[start..]
            .iter()
            .take_while(|r| r.path == first.path)
            .count();
        let routes = &ROUTES[start..start + same];
        if let Some(values) = capture(first.path, path) {
            return Some(PathMatch { routes, values });
        }
        start += same;
    }
    None
}

/// The parameters of `path` when it matches `template`: literal segments equal, each `{name}`
/// one non-empty segment.
fn capture<'a>(template: &str, path: &'a str) -> Option<[&'a str; MAX_PARAMS]> {
    let mut values = [""; MAX_PARAMS];
    let mut found = 0;
    let mut wanted = template.strip_prefix('/').unwrap_or(template).split('/');
    let mut given = path.strip_prefix('/').unwrap_or(path).split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(values),
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {
                *values.get_mut(found)? = g;
                found += 1;
            }
            (Some(w), Some(g)) if w == g && !w.starts_with('{') => {}
            _ => return None,
        }
    }
}

impl<'a> PathMatch<'a> {
    /// The template the path matched.
    pub fn template(&self) -> &'static str {
        self.routes.first().map_or("", |r| r.path)
    }

    /// The routes under the template, one per method.
    pub fn routes(&self) -> &'static [ApiRoute] {
        self.routes
    }

    /// The value of parameter `name` (`city`, `id`, `region`), as the path spells it.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.template()
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .zip(self.values)
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The route of `method` (upper case, as sent) under the template, or the `allow` header
    /// value listing the methods it has.
    pub fn route(&self, method: &str) -> Result<&'static ApiRoute, &'static str> {
        self.routes
            .iter()
            .find(|r| r.method.as_str() == method)
            .ok_or_else(|| self.allow())
    }

    /// The `allow` header value: the template's methods, in the order GET, POST, DELETE.
    pub fn allow(&self) -> &'static str {
        let has = |m: Method| self.routes.iter().any(|r| r.method == m);
        match (has(Method::Get), has(Method::Post), has(Method::Delete)) {
            (true, false, false) => "GET",
            (false, true, false) => "POST",
            (false, false, true) => "DELETE",
            (true, true, false) => "GET, POST",
            (false, true, true) => "POST, DELETE",
            (true, false, true) => "GET, DELETE",
            (true, true, true) => "GET, POST, DELETE",
            (false, false, false) => "",
        }
    }
}
