-- tests/lint/live/naive.sql: the hand-written schema of ../shared/seed-task.md (task 2: `auth.uid() = owner_id`
-- policies without `to`, no indexes; `gen_random_uuid()` instead of uuid-ossp), applied as `postgres` on
-- a legacy-grants Supabase platform, plus a few more problems marked PLANTED. tests/tests/lint.rs
-- asserts that `schemac lint --database-url` reports each of them.

create table public.profiles (
  id uuid references auth.users(id) primary key,
  username text unique not null,
  full_name text,
  avatar_url text,
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now()
);

create table public.user_settings (
  user_id uuid references auth.users(id) primary key,
  notification_preferences jsonb default '{}'::jsonb,
  theme text default 'light',
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now()
);

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  title text not null,
  owner_id uuid references auth.users(id) not null,
  is_archived boolean default false,
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now()
);

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid references public.conversations(id) on delete cascade,
  sender_id uuid references auth.users(id),
  content text not null,
  is_ai boolean default false,
  metadata jsonb default '{}'::jsonb,
  created_at timestamp with time zone default now()
);

create table public.documents (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid references auth.users(id) not null,
  title text not null,
  content text,
  file_path text,
  file_type text,
  file_size integer,
  is_archived boolean default false,
  created_at timestamp with time zone default now(),
  updated_at timestamp with time zone default now()
);

create table public.document_conversation_links (
  document_id uuid references public.documents(id) on delete cascade,
  conversation_id uuid references public.conversations(id) on delete cascade,
  created_at timestamp with time zone default now(),
  primary key (document_id, conversation_id)
);

alter table public.profiles enable row level security;
alter table public.user_settings enable row level security;
alter table public.conversations enable row level security;
alter table public.messages enable row level security;
alter table public.documents enable row level security;
alter table public.document_conversation_links enable row level security;

create policy "Users can view their own profile" on public.profiles
  for select using (auth.uid() = id);
create policy "Users can update their own profile" on public.profiles
  for update using (auth.uid() = id);

create policy "Users can view their own conversations" on public.conversations
  for select using (auth.uid() = owner_id);
create policy "Users can insert their own conversations" on public.conversations
  for insert with check (auth.uid() = owner_id);
create policy "Users can update their own conversations" on public.conversations
  for update using (auth.uid() = owner_id);
create policy "Users can delete their own conversations" on public.conversations
  for delete using (auth.uid() = owner_id);

create policy "Users can view messages of their conversations" on public.messages
  for select using (conversation_id in (select id from public.conversations where owner_id = auth.uid()));
create policy "Users can send messages to their conversations" on public.messages
  for insert with check (sender_id = auth.uid()
    and conversation_id in (select id from public.conversations where owner_id = auth.uid()));

create policy "Users can view their own documents" on public.documents
  for select using (auth.uid() = owner_id);
create policy "Users can insert their own documents" on public.documents
  for insert with check (auth.uid() = owner_id);
create policy "Users can update their own documents" on public.documents
  for update using (auth.uid() = owner_id);
create policy "Users can delete their own documents" on public.documents
  for delete using (auth.uid() = owner_id);

create policy "Users can view links of their documents" on public.document_conversation_links
  for select using (document_id in (select id from public.documents where owner_id = auth.uid()));

-- PLANTED: a table without row level security (the legacy default grants expose it), with a policy
-- that therefore never applies.
create table public.api_usage (
  id bigint generated always as identity primary key,
  user_id uuid references auth.users(id),
  tokens_used int not null default 0
);
create policy "Users can view their own usage" on public.api_usage
  for select using (auth.uid() = user_id);

-- PLANTED: an always-true write policy.
create table public.feedback (
  id bigint generated always as identity primary key,
  body text not null
);
alter table public.feedback enable row level security;
create policy "Anyone can send feedback" on public.feedback for insert with check (true);

-- PLANTED: a second permissive select policy on documents that trusts user_metadata.
create policy "Beta testers can view all documents" on public.documents
  for select to authenticated using ((auth.jwt() -> 'user_metadata' ->> 'beta') = 'true');

-- PLANTED: a volatile helper without a search_path, called per row by a policy.
create function public.is_admin() returns boolean language sql as $$ select false $$;
create policy "Admins can view all profiles" on public.profiles
  for select to authenticated using (public.is_admin());

-- PLANTED: the usual signup trigger, security definer without a fixed search_path.
create function public.handle_new_user() returns trigger language plpgsql security definer as $$
begin
  insert into public.profiles (id, username) values (new.id, new.email);
  return new;
end
$$;

-- PLANTED: the same index twice.
create index messages_created_idx on public.messages (created_at);
create index messages_created_at_idx on public.messages (created_at);

-- PLANTED: a security definer function in public that the API roles may execute (legacy
-- default privileges grant it to anon and authenticated).
create function public.promote(uid uuid) returns void language sql security definer
  set search_path = pg_catalog, pg_temp as $$ select $$;

-- PLANTED: a table without a primary key.
create table public.event_log (at timestamptz not null default now(), what text);
alter table public.event_log enable row level security;

-- PLANTED: a foreign key to auth.users(phone), a unique constraint Supabase Auth manages.
create table public.sms_contacts (
  id bigint generated always as identity primary key,
  phone text references auth.users (phone)
);
create index sms_contacts_phone_idx on public.sms_contacts (phone);
alter table public.sms_contacts enable row level security;

-- PLANTED: credentials in a table without row level security.
create table public.legacy_keys (id bigint generated always as identity primary key, api_key text);

-- PLANTED: a view over auth.users (also a security definer view), and a plain definer view.
create view public.user_emails as select id, email from auth.users;
create view public.recent_feedback as select id, body from public.feedback;
