//! An example chat app on the schema of `schema.yaml`: its models map tables of that file with
//! `#[derive(Table)]` (checked against it when this crate compiles), and every function runs as the
//! signed-in user on a `postgres` connection whose role and JWT claims are set the way Supabase's
//! data API sets them, so row level security decides what each user sees and may write.
//!
//! The functions take any `postgres::GenericClient` (in the tests: a transaction switched to the
//! user with `schema_pg::act_as`). Values are always bound parameters: the derives build their
//! statements from quoted identifiers and `$n` placeholders, and the queries here are literals.

use chrono::{DateTime, Utc};
use postgres::{Error, GenericClient};
use schema_macros::{SchemaEnum, Table};
use uuid::Uuid;

/// `message_role` of schema.yaml.
#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRole {
    User,
    Assistant,
    System,
    Tool,
}

/// `member_role` of schema.yaml.
#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    Viewer,
    Editor,
}

/// A conversation as listed (every column).
#[derive(Table, Debug, Clone, PartialEq)]
#[schemac(table = "conversations")]
pub struct Conversation {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub is_archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a user writes to start a conversation (the owner is `auth.uid()`, by default).
#[derive(Table, Debug, Clone)]
#[schemac(table = "conversations")]
pub struct NewConversation {
    pub id: Uuid,
    pub title: String,
}

/// The columns a rename changes: `update` sets `title` where `id` matches (the only columns the
/// grant lets users change are `title` and `is_archived`).
#[derive(Table, Debug, Clone)]
#[schemac(table = "conversations")]
pub struct ConversationTitle {
    pub id: Uuid,
    pub title: String,
}

#[derive(Table, Debug, Clone, PartialEq)]
#[schemac(table = "conversation_members")]
pub struct ConversationMember {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub role: MemberRole,
}

/// A message as read.
#[derive(Table, Debug, Clone, PartialEq)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender_id: Option<Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
    pub tokens_used: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// What a user may write in a message (the insert grant covers only these columns; the sender is
/// `auth.uid()` and the role `user`, by default, and the policies check both).
#[derive(Table, Debug, Clone)]
#[schemac(table = "messages")]
pub struct NewMessage {
    pub conversation_id: Uuid,
    pub content: String,
}

#[derive(Table, Debug, Clone)]
#[schemac(table = "documents")]
pub struct NewDocument {
    pub id: Uuid,
    pub title: String,
    pub content: Option<String>,
}

/// A chunk with its embedding, written as `Vec<f32>` and stored as a pgvector `vector(384)`.
#[derive(Table, Debug, Clone)]
#[schemac(table = "document_chunks")]
pub struct NewChunk {
    pub document_id: Uuid,
    pub chunk_index: i32,
    pub content: String,
    pub embedding: Option<Vec<f32>>,
}

#[derive(Table, Debug, Clone)]
#[schemac(table = "document_conversation_links")]
pub struct DocumentLink {
    pub document_id: Uuid,
    pub conversation_id: Uuid,
}

/// A row of `match_document_chunks(...)` (a function result, read by hand).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkMatch {
    pub id: Uuid,
    pub document_id: Uuid,
    pub chunk_index: i32,
    pub content: String,
    pub similarity: f64,
}

/// Starts a conversation owned by the current user; returns its id.
pub fn create_conversation(db: &mut impl GenericClient, title: &str) -> Result<Uuid, Error> {
    let c = NewConversation {
        id: Uuid::new_v4(),
        title: title.to_string(),
    };
    c.insert(db)?;
    Ok(c.id)
}

/// The conversations the current user can see (own, shared with them, or all for admins).
pub fn conversations(db: &mut impl GenericClient) -> Result<Vec<Conversation>, Error> {
    db.query(
        "select * from public.conversations order by created_at, id",
        &[],
    )?
    .iter()
    .map(Conversation::try_from)
    .collect()
}

/// Renames a conversation; returns how many rows changed (0 when RLS hides or protects it).
pub fn rename(db: &mut impl GenericClient, id: Uuid, title: &str) -> Result<u64, Error> {
    ConversationTitle {
        id,
        title: title.to_string(),
    }
    .update(db)
}

/// Shares a conversation with another user (only its owner may).
pub fn share(
    db: &mut impl GenericClient,
    conversation_id: Uuid,
    user_id: Uuid,
    role: MemberRole,
) -> Result<(), Error> {
    ConversationMember {
        conversation_id,
        user_id,
        role,
    }
    .insert(db)
    .map(|_| ())
}

/// Posts a message as the current user.
pub fn post(
    db: &mut impl GenericClient,
    conversation_id: Uuid,
    content: &str,
) -> Result<(), Error> {
    NewMessage {
        conversation_id,
        content: content.to_string(),
    }
    .insert(db)
    .map(|_| ())
}

/// The messages of a conversation the current user can read, oldest first.
pub fn messages(db: &mut impl GenericClient, conversation_id: Uuid) -> Result<Vec<Message>, Error> {
    db.query(
        "select * from public.messages where conversation_id = $1 order by created_at, id",
        &[&conversation_id],
    )?
    .iter()
    .map(Message::try_from)
    .collect()
}

/// Adds a document with its chunks (text and embedding) and links it to a conversation, so the
/// conversation's members can search it.
pub fn add_document(
    db: &mut impl GenericClient,
    title: &str,
    chunks: &[(&str, Vec<f32>)],
    conversation_id: Uuid,
) -> Result<Uuid, Error> {
    let doc = NewDocument {
        id: Uuid::new_v4(),
        title: title.to_string(),
        content: Some(
            chunks
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    doc.insert(db)?;
    for (i, (text, embedding)) in chunks.iter().enumerate() {
        NewChunk {
            document_id: doc.id,
            chunk_index: i32::try_from(i).unwrap_or(i32::MAX),
            content: text.to_string(),
            embedding: Some(embedding.clone()),
        }
        .insert(db)?;
    }
    DocumentLink {
        document_id: doc.id,
        conversation_id,
    }
    .insert(db)?;
    Ok(doc.id)
}

/// The chunks nearest to `embedding` among those the current user may read.
pub fn search(
    db: &mut impl GenericClient,
    embedding: &[f32],
    limit: i32,
) -> Result<Vec<ChunkMatch>, Error> {
    let query = pgvector::Vector::from(embedding.to_vec());
    db.query(
        "select id, document_id, chunk_index, content, similarity from public.match_document_chunks($1, $2)",
        &[&query, &limit],
    )?
    .iter()
    .map(|r| {
        Ok(ChunkMatch {
            id: r.try_get("id")?,
            document_id: r.try_get("document_id")?,
            chunk_index: r.try_get("chunk_index")?,
            content: r.try_get("content")?,
            similarity: r.try_get("similarity")?,
        })
    })
    .collect()
}
