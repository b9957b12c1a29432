// tests/ts/client/app.ts: a supabase-js client typed by generated/database.types.ts; `tsc --strict` must accept every call and every @ts-expect-error line must be needed.
import { createClient } from "@supabase/supabase-js"
import {
  Constants,
  type Database,
  type Enums,
  type Tables,
  type TablesInsert,
  type TablesUpdate,
} from "../../../generated/database.types.ts"

const supabase = createClient<Database>("http://127.0.0.1:54321", "anon-key")

type Conversation = Tables<"conversations">
type NewMessage = TablesInsert<"messages">
type ProfileChange = TablesUpdate<"profiles">
type DocumentStatus = Enums<"document_status">

export async function typedCalls(userId: string): Promise<string[]> {
  const out: string[] = []

  // Selects: columns and nullability come from the schema.
  const { data: conversations, error } = await supabase
    .from("conversations")
    .select("id, title, is_archived, updated_at")
    .eq("user_id", userId)
    .order("updated_at", { ascending: false })
  if (error) throw error
  for (const c of conversations) {
    const title: string = c.title
    const archived: boolean = c.is_archived
    out.push(`${title}${archived ? " (archived)" : ""}`)
  }
  const whole: Conversation[] = (await supabase.from("conversations").select()).data ?? []
  out.push(...whole.map((c) => c.id))

  // Embedded resources follow the foreign keys (Relationships).
  const { data: messages } = await supabase
    .from("messages")
    .select("id, content, role, conversations(title)")
    .eq("conversation_id", "10000000-0000-4000-8000-000000000001")
  for (const m of messages ?? []) {
    const role: Enums<"message_role"> = m.role
    const parentTitle: string | undefined = m.conversations?.title
    out.push(`${role}: ${m.content} in ${parentTitle ?? "?"}`)
  }

  // Nullable columns are `| null`.
  const { data: doc } = await supabase
    .from("documents")
    .select("description, file_size, status")
    .single()
  if (doc) {
    const description: string | null = doc.description
    const size: number | null = doc.file_size
    const status: DocumentStatus = doc.status
    out.push(`${description ?? ""} ${size ?? 0} ${status}`)
  }

  // Inserts: defaults and nullable columns are optional.
  const message: NewMessage = {
    conversation_id: "10000000-0000-4000-8000-000000000001",
    content: "hello",
  }
  await supabase.from("messages").insert(message)
  const { data: created } = await supabase
    .from("conversations")
    .insert({ title: "New chat" })
    .select("id")
    .single()
  if (created) out.push(created.id)
  await supabase.from("api_usage").insert({ user_id: userId, model: "m", prompt_tokens: 3 })

  // Updates and deletes.
  const change: ProfileChange = { full_name: "Alice", avatar_url: null }
  await supabase.from("profiles").update(change).eq("id", userId)
  await supabase.from("documents").update({ status: "ready" }).eq("id", "x")
  await supabase.from("api_keys").delete().eq("id", "x")

  // RPC: arguments with defaults are optional; table returns are arrays of rows.
  const { data: key } = await supabase.rpc("create_api_key", { name: "ci" })
  if (key) out.push(key.slice(0, 3))
  const { data: chunks } = await supabase.rpc("match_document_chunks", {
    query_embedding: JSON.stringify(new Array(384).fill(0)),
    match_count: 5,
  })
  for (const c of chunks ?? []) {
    const similarity: number = c.similarity
    out.push(`${c.document_id}#${c.chunk_index} ${similarity}`)
  }
  const { data: usage } = await supabase.rpc("usage_summary", {
    from_ts: "2026-01-01",
    to_ts: "2027-01-01",
  })
  for (const u of usage ?? []) out.push(`${u.day} ${u.model} ${u.tokens_used}`)

  // Enum values at run time.
  const statuses: readonly DocumentStatus[] = Constants.public.Enums.document_status
  out.push(...statuses)
  return out
}

export async function mistakesTheCompilerCatches(userId: string): Promise<void> {
  // A generated column cannot be inserted.
  // @ts-expect-error tokens_used is `generated always as (...) stored`
  await supabase.from("api_usage").insert({ user_id: userId, model: "m", tokens_used: 5 })
  // An identity `always` column cannot be inserted either.
  // @ts-expect-error id is `generated always as identity`
  await supabase.from("api_usage").insert({ id: 1, user_id: userId, model: "m" })
  // A value outside the enum.
  // @ts-expect-error "robot" is not a message_role
  await supabase.from("messages").insert({ conversation_id: "c", content: "x", role: "robot" })
  // A required column is missing (title has no default).
  // @ts-expect-error title is required
  await supabase.from("conversations").insert({ is_archived: false })
  // An unknown column.
  // @ts-expect-error conversations has no column `colour`
  await supabase.from("conversations").insert({ title: "t", colour: "red" })
  // An unknown table.
  // @ts-expect-error there is no table `conversation`
  await supabase.from("conversation").select()
  // A wrong RPC argument type.
  // @ts-expect-error name is text
  await supabase.rpc("create_api_key", { name: 42 })
  // A missing required RPC argument.
  // @ts-expect-error query_embedding has no default
  await supabase.rpc("match_document_chunks", { match_count: 5 })
  // An unknown function.
  // @ts-expect-error no function `drop_everything`
  await supabase.rpc("drop_everything")
  // Nullable columns must be checked before use.
  const { data } = await supabase.from("documents").select("description").single()
  // @ts-expect-error description is `string | null`
  const notNull: string = data!.description
  void notNull
  // Update values are type-checked too.
  // @ts-expect-error is_archived is boolean
  await supabase.from("conversations").update({ is_archived: "yes" }).eq("id", "x")
}
