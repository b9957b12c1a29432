//! The JSON Schema of `schema.yaml` (for editors and the YAML language server), built from the key tables the YAML reader checks against.
//!
//! Every mapping's `properties` are exactly `syntax::yaml::keys::*` (the reader's own lists), with
//! `additionalProperties: false`, so a key the reader rejects is also rejected here. Values are
//! described as the reader accepts them before any semantic check: `lower` still reports unknown
//! types, tables or roles with positions; this schema is for completion and early feedback.

use crate::syntax::yaml::keys;
use serde_json::{json, Map, Value};

/// The `$id` the document claims (informative; editors refer to the file by path).
pub const ID: &str = "https://schemac.invalid/schema.json";

fn scalar(description: &str) -> Value {
    json!({ "type": ["string", "number", "boolean"], "description": description })
}

/// A name or keyword. The reader takes any scalar here (`lower` then checks it), so numbers and
/// booleans are not refused at this stage either.
fn string(description: &str) -> Value {
    scalar(description)
}

fn boolean(description: &str) -> Value {
    json!({ "type": "boolean", "description": description })
}

/// One scalar or a list of scalars (the reader takes a single value as a one-item list).
fn names(description: &str) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": ["string", "number", "boolean"] },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
        ]
    })
}

fn list_of(items: Value, description: &str) -> Value {
    json!({ "type": "array", "items": items, "description": description })
}

/// A mapping of user-chosen names (tables, columns...) to `value`.
fn named(value: Value, description: &str) -> Value {
    json!({ "type": "object", "additionalProperties": value, "description": description })
}

fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{def}") })
}

/// A closed mapping whose keys are `keys` (the reader's table), each described by `value_of`.
/// Panics only if `value_of` lacks a key of the table: a unit test builds the whole document.
fn object(
    keys: &[&str],
    required: &[&str],
    description: &str,
    value_of: impl Fn(&str) -> Option<Value>,
) -> Value {
    let mut props = Map::new();
    for k in keys {
        let v = value_of(k).unwrap_or_else(|| panic!("json_schema: no description for `{k}`"));
        props.insert((*k).to_string(), v);
    }
    let mut o = Map::new();
    o.insert("type".into(), json!("object"));
    o.insert("description".into(), json!(description));
    o.insert("properties".into(), Value::Object(props));
    o.insert("additionalProperties".into(), json!(false));
    if !required.is_empty() {
        o.insert("required".into(), json!(required));
    }
    Value::Object(o)
}

fn file() -> Value {
    object(keys::FILE, &[], "A schemac schema (schema.yaml).", |k| {
        Some(match k {
            "target" => json!({ "type": ["string", "number", "boolean"], "examples": ["supabase", "postgres"], "description": "The platform the migrations are for: `supabase` (default) or `postgres`." }),
            "helpers_schema" => string("Schema of the generated security definer helpers (default `private`); not exposed by the data API."),
            "extensions" => list_of(
                json!({ "anyOf": [ { "type": ["string", "number", "boolean", "null"] }, reference("extension") ] }),
                "Extensions to create, e.g. `- { name: vector, schema: extensions }`.",
            ),
            "enums" => named(
                json!({ "anyOf": [ { "type": "array", "items": { "type": ["string", "number", "boolean"] } }, reference("enum") ] }),
                "Enum types: `name: [value, ...]` or `name: { values: [...], comment: ... }`.",
            ),
            "roles" => reference("roles"),
            "tables" => named(reference("table"), "Tables, by name."),
            "functions" => named(reference("function"), "Functions, by name."),
            "triggers" => named(reference("trigger"), "Triggers, by name."),
            "seed" => list_of(reference("seed"), "Development data, one block per table."),
            "allow_destructive" => names("Destructive changes that are intended, e.g. `drop column documents.description`."),
            _ => return None,
        })
    })
}

fn definitions() -> Value {
    let mut d = Map::new();
    d.insert(
        "extension".into(),
        object(keys::EXTENSION, &["name"], "An extension.", |k| {
            Some(match k {
                "name" => string("The extension, e.g. `vector`."),
                "schema" => string("The schema to create it in, e.g. `extensions`."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "enum".into(),
        object(keys::ENUM, &[], "An enum type.", |k| {
            Some(match k {
                "values" => names("The values, in order."),
                "comment" => scalar("A comment on the type."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "roles".into(),
        object(keys::ROLES, &[], "Where app roles such as `admin` come from: a column users cannot write, or a JWT claim.", |k| {
            Some(match k {
                "table" => string("The table holding each user's role."),
                "column" => string("The role column."),
                "user_column" => string("The column holding the user id (default `id`)."),
                "jwt" => string("A claims path such as `app_metadata.role` (never `user_metadata`)."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "table".into(),
        object(keys::TABLE, &[], "A table.", |k| {
            Some(match k {
                "comment" => scalar("A comment on the table."),
                "columns" => named(
                    json!({ "anyOf": [ { "type": ["string", "number", "boolean", "null"], "description": "A type: `text`, `text?` (nullable), `varchar(80)`, `vector(384)`, `text[]`, an enum..." }, reference("column") ] }),
                    "Columns in order: `name: type` or `name: { type: ..., ... }`.",
                ),
                "primary_key" => names("A composite primary key: `[a, b]`."),
                "unique" => list_of(json!({ "anyOf": [ { "type": ["string", "number", "boolean"] }, { "type": "array", "items": { "type": ["string", "number", "boolean"] } } ] }), "Unique constraints: `[[a, b]]`."),
                "checks" => named(json!({ "type": ["string", "number", "boolean"] }), "Named check constraints: `name: sql`."),
                "foreign_keys" => list_of(reference("foreign_key"), "Composite foreign keys."),
                "indexes" => list_of(reference("index"), "Indexes."),
                "timestamps" => boolean("Adds `created_at` and `updated_at`, kept current by a trigger."),
                "realtime" => json!({ "description": "Stream changes with Supabase Realtime.", "anyOf": [ { "type": "boolean" }, reference("realtime") ] }),
                "rls" => boolean("Row level security (default `true`)."),
                "policies" => list_of(reference("policy"), "Access rules; rules for the same command and role are OR-ed."),
                "grants" => named(reference("grant"), "Privileges per role, overriding those derived from the rules."),
                "renamed_from" => string("The table's previous name (migration hint)."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "column".into(),
        object(keys::COLUMN, &["type"], "A column.", |k| {
            Some(match k {
                "type" => string("`text`, `uuid`, `varchar(80)`, `numeric(10,2)`, `vector(384)`, `text[]`, an enum name..."),
                "nullable" => boolean("May be null (default `false`)."),
                "default" => json!({ "type": ["string", "number", "boolean", "null"], "description": "The default, as SQL (e.g. `now()`, `'user'`; `null` is SQL `null`)." }),
                "primary_key" => boolean("The primary key."),
                "unique" => boolean("Unique."),
                "check" => scalar("A check constraint, as SQL."),
                "references" => string("`table`, `table(column)` or `auth.users`."),
                "on_delete" => string("`cascade`, `set null`, `set default`, `restrict` or `no action`."),
                "identity" => string("`always` or `by_default`."),
                "generated" => scalar("A stored generated column's SQL expression."),
                "comment" => scalar("A comment on the column."),
                "renamed_from" => string("The column's previous name (migration hint)."),
                "using" => scalar("SQL converting the old value on a type change (migration hint)."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "foreign_key".into(),
        object(keys::FOREIGN_KEY, &["references"], "A foreign key.", |k| {
            Some(match k {
                "columns" => names("Columns of this table."),
                "references" => string("`table(column, ...)`."),
                "on_delete" => {
                    string("`cascade`, `set null`, `set default`, `restrict` or `no action`.")
                }
                _ => return None,
            })
        }),
    );
    d.insert(
        "index".into(),
        object(keys::INDEX, &[], "An index.", |k| {
            Some(match k {
                "name" => string("The index name (default: derived from the table and columns)."),
                "columns" => names(
                    "Columns, each optionally followed by `desc` and `nulls first`/`nulls last`.",
                ),
                "using" => string("`btree`, `hash`, `gin`, `gist`, `brin`, `hnsw` or `ivfflat`."),
                "opclass" => string("An operator class such as `vector_cosine_ops`."),
                "with" => named(
                    json!({ "type": ["string", "number", "boolean"] }),
                    "Storage parameters, e.g. `{ m: 16 }`.",
                ),
                "unique" => boolean("A unique index."),
                "where" => scalar("A partial index's condition, as SQL."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "realtime".into(),
        object(keys::REALTIME, &[], "Realtime settings.", |k| {
            Some(match k {
                "replica_identity" => json!({ "enum": ["full", "default"], "description": "`full` (old values in update and delete events) or `default`." }),
                _ => return None,
            })
        }),
    );
    d.insert(
        "policy".into(),
        object(keys::POLICY, &[], "An access rule built from templates (AND-ed within the rule).", |k| {
            Some(match k {
                "name" => scalar("The policy's name."),
                "for" => names("`select`, `insert`, `update`, `delete` or `all`."),
                "to" => names("`authenticated` (default) or `anon`."),
                "owner" => string("The column holding the owner's user id."),
                "role" => string("An app role such as `admin`."),
                "member" => reference("member"),
                "parent" => json!({ "description": "Visible when the parent row is: a foreign key column, or `{ column, owner }`.", "anyOf": [ { "type": ["string", "number", "boolean", "null"] }, reference("parent") ] }),
                "authenticated" => boolean("Any signed-in user."),
                "public" => boolean("Anyone, read-only (anon and authenticated)."),
                "using" => scalar("Custom SQL for USING."),
                "check" => scalar("Custom SQL for WITH CHECK."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "member".into(),
        object(
            keys::MEMBER,
            &["through"],
            "Access through a membership table.",
            |k| {
                Some(match k {
                    "through" => string("The membership table."),
                    "column" => string("The column of this table holding the key."),
                    "key" => string("The column of the membership table holding the key."),
                    "user_column" => string("The member's user id column."),
                    "roles" => names("Only members with one of these member roles."),
                    "role_column" => string("The member role column."),
                    _ => return None,
                })
            },
        ),
    );
    d.insert(
        "parent".into(),
        object(keys::PARENT, &["column"], "The parent row.", |k| {
            Some(match k {
                "column" => string("The foreign key column to the parent."),
                "owner" => string("The parent's owner column: only when the parent is the user's."),
                _ => return None,
            })
        }),
    );
    let grant_columns = json!({
        "description": "`all`, `none`, a list of columns, or `{ except: [...] }`.",
        "anyOf": [
            { "enum": ["all", "none", true, false] },
            { "type": "array", "items": { "type": ["string", "number", "boolean"] } },
            reference("grant_except")
        ]
    });
    d.insert(
        "grant".into(),
        object(
            keys::GRANT,
            &[],
            "One role's privileges, by command.",
            |_| Some(grant_columns.clone()),
        ),
    );
    d.insert(
        "grant_except".into(),
        object(keys::GRANT_EXCEPT, &[], "Every column except these.", |k| {
            Some(match k {
                "except" => names("The columns left out."),
                _ => return None,
            })
        }),
    );
    d.insert(
        "function".into(),
        object(
            keys::FUNCTION,
            &["returns", "language", "body"],
            "A function.",
            |k| {
                Some(match k {
                    "schema" => string("The schema (default `public`)."),
                    "args" => names("Arguments: `name type [default expr]`."),
                    "returns" => {
                        string("A type, `setof type`, `table (...)`, `trigger` or `void`.")
                    }
                    "language" => string("`sql` or `plpgsql`."),
                    "security" => string("`invoker` (default) or `definer`."),
                    "volatility" => string("`volatile` (default), `stable` or `immutable`."),
                    "body" => scalar("The body."),
                    "grant" => names("Roles that may execute it (service_role always may)."),
                "expose_definer" => boolean("A `security definer` function in an exposed schema is meant to be called by the API roles (it checks its caller itself)."),
                    "comment" => scalar("A comment on the function."),
                    _ => return None,
                })
            },
        ),
    );
    d.insert(
        "trigger".into(),
        object(
            keys::TRIGGER,
            &["table", "timing", "function"],
            "A trigger.",
            |k| {
                Some(match k {
                    "table" => string("An app table or `auth.users`."),
                    "timing" => string("`before` or `after`."),
                    "events" => names("`insert`, `update` and/or `delete`."),
                    "for_each" => string("`row` (default) or `statement`."),
                    "function" => string("The trigger function."),
                    _ => return None,
                })
            },
        ),
    );
    d.insert(
        "seed".into(),
        object(keys::SEED, &["table"], "Rows of one table.", |k| {
            Some(match k {
                "table" => string("An app table or `auth.users`."),
                "rows" => list_of(
                    json!({
                        "type": "object",
                        "description": "Column values; mappings and lists become JSON, `{ $sql: expr }` is SQL.",
                        "additionalProperties": {
                            "if": { "type": "object", "required": ["$sql"], "maxProperties": 1 },
                            "then": { "properties": { "$sql": { "type": ["string", "number", "boolean"], "description": "An SQL expression." } } }
                        }
                    }),
                    "The rows.",
                ),
                _ => return None,
            })
        }),
    );
    Value::Object(d)
}

/// The JSON Schema (draft-07) of `schema.yaml`, as pretty-printed JSON text ending in a newline.
pub fn document() -> String {
    let mut root = match file() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut doc = Map::new();
    doc.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    doc.insert("$id".into(), json!(ID));
    doc.insert("title".into(), json!("schemac schema.yaml"));
    doc.append(&mut root);
    doc.insert("definitions".into(), definitions());
    let mut text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key table of the reader is described (building the document would panic otherwise)
    /// and appears as a closed mapping.
    #[test]
    fn every_reader_key_is_described() {
        let doc: Value = serde_json::from_str(&document()).expect("valid JSON");
        let defs = &doc["definitions"];
        let tables: &[(&Value, &[&str])] = &[
            (&doc, keys::FILE),
            (&defs["extension"], keys::EXTENSION),
            (&defs["enum"], keys::ENUM),
            (&defs["roles"], keys::ROLES),
            (&defs["table"], keys::TABLE),
            (&defs["column"], keys::COLUMN),
            (&defs["foreign_key"], keys::FOREIGN_KEY),
            (&defs["index"], keys::INDEX),
            (&defs["realtime"], keys::REALTIME),
            (&defs["policy"], keys::POLICY),
            (&defs["member"], keys::MEMBER),
            (&defs["parent"], keys::PARENT),
            (&defs["grant"], keys::GRANT),
            (&defs["grant_except"], keys::GRANT_EXCEPT),
            (&defs["function"], keys::FUNCTION),
            (&defs["trigger"], keys::TRIGGER),
            (&defs["seed"], keys::SEED),
        ];
        for (def, keys) in tables {
            let props = def["properties"].as_object().expect("properties");
            let mut have: Vec<&str> = props.keys().map(String::as_str).collect();
            let mut want = keys.to_vec();
            have.sort_unstable();
            want.sort_unstable();
            assert_eq!(have, want);
            assert_eq!(def["additionalProperties"], json!(false));
        }
    }

    #[test]
    fn document_is_deterministic() {
        assert_eq!(document(), document());
    }
}
