//! Acting as an API user inside a transaction, exactly as PostgREST does for each request.
//!
//! PostgREST logs in as `authenticator` and, per request, in a transaction, runs
//! `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)` with the
//! JWT's role and claims. [`act_as`] does the same, so `auth.uid()`, `auth.role()`,
//! `auth.jwt()`, RLS policies and grants behave as they would behind the Supabase Data API.
//! Both settings are transaction-local: they vanish at commit/rollback (the claims then read
//! as `''`, not NULL, because the placeholder setting stays defined for the session).

use postgres::Transaction;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::PgError;

/// Fixed `iat` of generated claims (2023-11-14T22:13:20Z), so outputs are deterministic.
pub const CLAIMS_IAT: i64 = 1_700_000_000;

/// Fixed `exp` of generated claims (2100-01-01T00:00:00Z).
pub const CLAIMS_EXP: i64 = 4_102_444_800;

/// Issuer of generated claims (a local Supabase's auth URL).
pub const CLAIMS_ISS: &str = "http://127.0.0.1:54321/auth/v1";

/// Who a request is made as: the database role PostgREST switches to and the JWT claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    role: String,
    claims: Value,
}

impl Actor {
    /// A request with only the anon key: role `anon`.
    pub fn anon() -> Self {
        Self::api_key("anon")
    }

    /// A request with the service-role key: role `service_role` (bypasses RLS).
    pub fn service_role() -> Self {
        Self::api_key("service_role")
    }

    fn api_key(role: &str) -> Self {
        Actor {
            role: role.to_string(),
            claims: json!({
                "iss": "supabase",
                "ref": "schemac-local",
                "role": role,
                "iat": CLAIMS_IAT,
                "exp": CLAIMS_EXP,
            }),
        }
    }

    /// A signed-in user (email provider), with claims shaped like a Supabase access token.
    /// `session_id` is derived from `id`, so the same user always gets the same claims.
    pub fn user(id: Uuid, email: &str) -> Self {
        let session_id = Uuid::from_u128(id.as_u128() ^ 0x5e55_1011_0000_4000_8000_0000_0000_0000);
        Actor {
            role: "authenticated".to_string(),
            claims: json!({
                "iss": CLAIMS_ISS,
                "sub": id.to_string(),
                "aud": "authenticated",
                "exp": CLAIMS_EXP,
                "iat": CLAIMS_IAT,
                "email": email,
                "phone": "",
                "app_metadata": { "provider": "email", "providers": ["email"] },
                "user_metadata": {},
                "role": "authenticated",
                "aal": "aal1",
                "amr": [{ "method": "password", "timestamp": CLAIMS_IAT }],
                "session_id": session_id.to_string(),
                "is_anonymous": false,
            }),
        }
    }

    /// Any role with arbitrary claims (e.g. a custom JWT); `role` must be a role the logged-in
    /// connection may `set role` to.
    pub fn custom(role: impl Into<String>, claims: Value) -> Self {
        Actor {
            role: role.into(),
            claims,
        }
    }

    /// Replaces the `app_metadata` claim (e.g. `{"provider": "email", "tenant_id": ...}`),
    /// as a custom access token hook or `raw_app_meta_data` would.
    pub fn with_app_metadata(mut self, app_metadata: Value) -> Self {
        self.set_claim("app_metadata", app_metadata);
        self
    }

    /// Replaces the `user_metadata` claim.
    pub fn with_user_metadata(mut self, user_metadata: Value) -> Self {
        self.set_claim("user_metadata", user_metadata);
        self
    }

    /// Sets (or replaces) one top-level claim.
    pub fn with_claim(mut self, key: &str, value: Value) -> Self {
        self.set_claim(key, value);
        self
    }

    fn set_claim(&mut self, key: &str, value: Value) {
        if let Value::Object(map) = &mut self.claims {
            map.insert(key.to_string(), value);
        } else {
            self.claims = json!({ key: value });
        }
    }

    /// The database role (`anon`, `authenticated`, `service_role`, ...).
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The JWT claims.
    pub fn claims(&self) -> &Value {
        &self.claims
    }

    /// The `sub` claim as a user id, if present and a UUID.
    pub fn user_id(&self) -> Option<Uuid> {
        self.claims.get("sub")?.as_str()?.parse().ok()
    }
}

/// Switches the transaction to `actor`, as PostgREST does: `set_config('role', role, true)`
/// (same as `set local role`) and `set_config('request.jwt.claims', claims, true)`.
///
/// The connection must be logged in as a role that is a member of the target role: `postgres`
/// or `authenticator` after [`crate::install_supabase_platform`] (a superuser works too, but
/// then `set role` drops superuser rights only for the rest of the transaction). Both settings
/// end with the transaction.
pub fn act_as(tx: &mut Transaction<'_>, actor: &Actor) -> Result<(), PgError> {
    let claims = actor.claims.to_string();
    tx.execute(
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
        &[&actor.role, &claims],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_claims_are_supabase_shaped_and_deterministic() {
        let id = Uuid::parse_str("6f1c2a0e-3b4d-4e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let a = Actor::user(id, "ada@example.com");
        assert_eq!(a, Actor::user(id, "ada@example.com"));
        assert_eq!(a.role(), "authenticated");
        assert_eq!(a.user_id(), Some(id));
        let c = a.claims();
        assert_eq!(c["sub"], id.to_string());
        assert_eq!(c["aud"], "authenticated");
        assert_eq!(c["role"], "authenticated");
        assert_eq!(c["phone"], "");
        assert_eq!(c["app_metadata"]["providers"][0], "email");
        assert_eq!(c["is_anonymous"], false);
        assert_eq!(c["iat"], CLAIMS_IAT);
        assert_ne!(c["session_id"], c["sub"]);
    }

    #[test]
    fn metadata_builders_replace_claims() {
        let a = Actor::user(Uuid::nil(), "x@y.z").with_app_metadata(json!({"tenant": "t1"}));
        assert_eq!(a.claims()["app_metadata"], json!({"tenant": "t1"}));
        assert_eq!(Actor::anon().role(), "anon");
        assert_eq!(Actor::service_role().claims()["role"], "service_role");
        assert_eq!(Actor::anon().user_id(), None);
    }
}
