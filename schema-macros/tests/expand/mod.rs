//! Expansion snapshots of the derives (printed with prettyplease), for representative structs and
//! enums: a declared table, a mapped struct with a vector field, a struct with errors (its fallback
//! items), and enums. Compiled as a unit test module of the macro crate (a proc-macro crate exports
//! nothing else), so it calls the `_inner` functions directly.

use crate::{derive_schema_enum_inner, derive_table_inner};
use quote::quote;

/// Pretty-printed expansion, with the absolute path of the tracked schema file made relative.
fn pretty(tokens: proc_macro2::TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("the expansion is a list of items");
    let text = prettyplease::unparse(&file);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .canonicalize()
        .expect("canonical");
    text.replace(&root.to_string_lossy().to_string(), "<workspace>")
}

#[test]
fn declared_table() {
    let out = derive_table_inner(quote! {
        #[schemac(
            declare,
            table = "notes",
            timestamps,
            index(columns = ["owner_id", "created_at desc"]),
            policy(name = "owners", for = "all", owner = "owner_id"),
            grant(role = "authenticated", update = ["body"])
        )]
        pub struct Note {
            #[schemac(primary_key, default = "gen_random_uuid()")]
            pub id: uuid::Uuid,
            #[schemac(default = "auth.uid()", references = "auth.users", on_delete = "cascade")]
            pub owner_id: uuid::Uuid,
            #[schemac(check = "char_length(body) > 0")]
            pub body: String,
            pub pinned: Option<bool>,
            #[schemac(skip)]
            pub cached_len: usize,
        }
    });
    let text = pretty(out);
    assert!(!text.contains("compile_error"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn mapped_struct_with_vector_field() {
    let out = derive_table_inner(quote! {
        #[schemac(table = "document_chunks")]
        pub struct Chunk {
            pub id: uuid::Uuid,
            pub document_id: uuid::Uuid,
            pub chunk_index: i32,
            #[schemac(column = "content")]
            pub text: String,
            pub embedding: Option<Vec<f32>>,
        }
    });
    let text = pretty(out);
    assert!(!text.contains("compile_error"), "{text}");
    assert!(
        text.contains("const _: &str = include_str!(\"<workspace>/schema.yaml\");"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn identity_and_generated_columns_are_not_inserted() {
    let out = derive_table_inner(quote! {
        #[schemac(table = "api_usage")]
        pub struct Usage {
            pub id: i64,
            pub user_id: uuid::Uuid,
            pub model: String,
            pub prompt_tokens: i32,
            pub tokens_used: i32,
        }
    });
    let text = pretty(out);
    assert!(!text.contains("compile_error"), "{text}");
    assert!(
        text.contains(r#"insert into \"public\".\"api_usage\" (\"user_id\", \"model\", \"prompt_tokens\") values ($1, $2, $3)"#),
        "{text}"
    );
    assert!(
        text.contains(r#"update \"public\".\"api_usage\" set \"user_id\" = $1, \"model\" = $2, \"prompt_tokens\" = $3 where \"id\" = $4"#),
        "{text}"
    );
}

#[test]
fn errors_keep_the_items() {
    let out = derive_table_inner(quote! {
        #[schemac(table = "messages")]
        pub struct Message {
            pub id: uuid::Uuid,
            pub conten: String,
            pub tokens_used: i32,
        }
    });
    let text = pretty(out);
    assert_eq!(text.matches("compile_error!").count(), 2, "{text}");
    assert!(
        text.contains("S0010 table `messages` has no column `conten`"),
        "{text}"
    );
    assert!(text.contains("did you mean `content`?"), "{text}");
    assert!(
        text.contains("S0029 column `messages.tokens_used` is nullable, but field `tokens_used` is not an `Option`"),
        "{text}"
    );
    // The items are still there, so code using them does not fail a second time.
    assert!(
        text.contains("impl ::core::convert::TryFrom<&::postgres::Row> for Message"),
        "{text}"
    );
    assert!(text.contains("pub fn insert("), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn enums() {
    let declared = pretty(derive_schema_enum_inner(quote! {
        #[schemac(declare, name = "ticket_state")]
        pub enum TicketState {
            Open,
            #[schemac(rename = "in-progress")]
            InProgress,
            Done,
        }
    }));
    assert!(!declared.contains("compile_error"), "{declared}");
    insta::assert_snapshot!("declared_enum", declared);
    let mapped = pretty(derive_schema_enum_inner(quote! {
        pub enum MessageRole { User, Assistant, System, Tool }
    }));
    assert!(!mapped.contains("compile_error"), "{mapped}");
    assert!(
        mapped.contains("pub const SQL_NAME: &'static str = \"message_role\";"),
        "{mapped}"
    );
    let missing = pretty(derive_schema_enum_inner(quote! {
        pub enum MessageRole { User, Assistant, Robot }
    }));
    assert!(
        missing.contains(
            "S0025 variant `Robot` is `robot`, which is not a value of enum `message_role`"
        ),
        "{missing}"
    );
    assert!(
        missing.contains("has no variant for `system`, `tool`"),
        "{missing}"
    );
}
