//! Small helpers to build and rewrite PostgreSQL connection strings (user / database swaps).

use crate::error::PgError;

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub(crate) fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for b in component.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Checks that `url` is a connection string this crate can both connect with and rewrite.
pub(crate) fn validate(url: &str) -> Result<(), PgError> {
    url.parse::<postgres::Config>()
        .map_err(|e| PgError::InvalidUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
    with_user_db(url, "u", "d").map(|_| ())
}

/// Returns `url` with its user name and database replaced by `user` and `db`.
///
/// Accepts `postgres://` / `postgresql://` URLs (any password and query parameters are kept)
/// and libpq `key=value` strings whose values contain no spaces.
pub(crate) fn with_user_db(url: &str, user: &str, db: &str) -> Result<String, PgError> {
    let invalid = |reason: &str| PgError::InvalidUrl {
        url: redact(url),
        reason: reason.to_string(),
    };
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        // key=value form.
        if !url.contains('=') {
            return Err(invalid("expected postgres://... or key=value pairs"));
        }
        if url.contains('\'') {
            return Err(invalid(
                "quoted key=value strings are not supported; use a postgres:// URL",
            ));
        }
        let mut parts: Vec<String> = url
            .split_whitespace()
            .filter(|kv| {
                let key = kv.split('=').next().unwrap_or_default().trim();
                key != "user" && key != "dbname"
            })
            .map(str::to_string)
            .collect();
        parts.push(format!("user={user}"));
        parts.push(format!("dbname={db}"));
        return Ok(parts.join(" "));
    };
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(invalid("scheme must be postgres:// or postgresql://"));
    }
    // rest = [userinfo@]hosts[/db][?query]
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, _old_db) = match before_query.split_once('/') {
        Some((a, d)) => (a, Some(d)),
        None => (before_query, None),
    };
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let password = userinfo.and_then(|u| u.split_once(':')).map(|(_, p)| p);
    let mut out = format!("{scheme}://{}", encode(user));
    if let Some(p) = password {
        out.push(':');
        out.push_str(p);
    }
    out.push('@');
    out.push_str(hosts);
    out.push('/');
    out.push_str(&encode(db));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// The URL with any password replaced by `***`, for error messages.
pub(crate) fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some((userinfo, hosts)) = authority.rsplit_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{hosts}{tail}");
            }
        }
        return url.to_string();
    }
    url.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_url_user_and_db_keeping_password_and_query() {
        assert_eq!(
            with_user_db(
                "postgres://admin:s3cret@db.local:5433/postgres?sslmode=disable",
                "postgres",
                "t1"
            )
            .unwrap(),
            "postgres://postgres:s3cret@db.local:5433/t1?sslmode=disable"
        );
        assert_eq!(
            with_user_db("postgresql://localhost", "anon", "x").unwrap(),
            "postgresql://anon@localhost/x"
        );
        assert_eq!(
            with_user_db("postgres://u@h1:1,h2:2/db", "a b", "c").unwrap(),
            "postgres://a%20b@h1:1,h2:2/c"
        );
    }

    #[test]
    fn rewrites_key_value_strings() {
        assert_eq!(
            with_user_db(
                "host=/tmp port=5432 user=admin dbname=postgres",
                "postgres",
                "t"
            )
            .unwrap(),
            "host=/tmp port=5432 user=postgres dbname=t"
        );
    }

    #[test]
    fn rejects_garbage_and_redacts_passwords() {
        assert!(validate("mysql://x").is_err());
        assert!(validate("not a url").is_err());
        assert!(validate("postgres://u:pw@localhost:5432/db").is_ok());
        let err = with_user_db("mysql://u:topsecret@h/db", "a", "b")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("topsecret"), "{err}");
        assert_eq!(
            redact("host=h password=pw user=u"),
            "host=h password=*** user=u"
        );
    }
}
