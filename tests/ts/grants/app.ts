// tests/ts/grants/app.ts: the same client against the `--types-grant-aware` types: writes the generated grants refuse no longer compile.
import { createClient } from "@supabase/supabase-js"
import type { Database } from "../.out/grant-aware.types.ts"

const supabase = createClient<Database>("http://127.0.0.1:54321", "anon-key")

export async function grants(userId: string): Promise<void> {
  // Granted: the columns `authenticated` may update.
  await supabase.from("profiles").update({ full_name: "A", avatar_url: null }).eq("id", userId)
  await supabase.from("api_keys").update({ name: "renamed", revoked_at: null }).eq("id", "k")
  await supabase.from("messages").insert({ conversation_id: "c", content: "hi" })
  // Users cannot make themselves admin: `role` is not granted for update.
  // @ts-expect-error profiles.role is not writable by the API roles
  await supabase.from("profiles").update({ role: "admin" }).eq("id", userId)
  // @ts-expect-error api_keys.key_hash is not writable by the API roles
  await supabase.from("api_keys").update({ key_hash: "x" }).eq("id", "k")
  // messages: only conversation_id, content and metadata may be inserted (role comes from its default).
  // @ts-expect-error messages.role is not insertable by the API roles
  await supabase.from("messages").insert({ conversation_id: "c", content: "hi", role: "assistant" })
}
