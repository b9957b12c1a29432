-- Recreates, on a vanilla PostgreSQL database, the parts of a hosted Supabase project that schemac migrations rely on.
--
-- Run as a superuser, inside one transaction, by schema_pg::install_supabase_platform.
-- Idempotent per database. Roles are cluster-wide, so the first statement serializes
-- concurrent installs (in other databases of the same cluster) until commit; without it two
-- transactions could both see a role missing, or update the same role row, and one would fail.
lock table pg_catalog.pg_authid in share row exclusive mode;

-- ---------------------------------------------------------------------------------------
-- Roles (as on Supabase: API roles are nologin + inherit since 2023; authenticator is the
-- PostgREST login role; postgres is NOT a superuser on hosted projects).
-- ---------------------------------------------------------------------------------------
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin inherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin inherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin inherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit noreplication;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_realtime_admin') then
    create role supabase_realtime_admin nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login createdb createrole replication bypassrls nosuperuser;
  elsif exists (select from pg_roles
                where rolname = 'postgres' and oid <> 10 and rolname <> current_user) then
    -- Demote an existing postgres role as Supabase does. Impossible (and skipped) when it is
    -- the bootstrap superuser or the role running this script, e.g. on an external server
    -- whose admin URL logs in as postgres.
    alter role postgres nosuperuser createdb createrole login replication bypassrls;
  else
    raise warning 'role postgres is the bootstrap superuser or the current user: left a superuser';
  end if;
end
$$;

-- Enforce the attributes that matter even if the roles existed before.
alter role anon nologin inherit nobypassrls;
alter role authenticated nologin inherit nobypassrls;
alter role service_role nologin inherit bypassrls;
alter role authenticator login noinherit;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role postgres set search_path to "$user", public, extensions;
alter role supabase_auth_admin set search_path = auth;
-- Supabase (supabase/postgres migration 20220609081115) makes postgres a member of the auth and
-- storage admin roles "so that the postgres role can manage auth tables triggers": dropping a
-- trigger on auth.users needs ownership, which this membership gives.
grant supabase_auth_admin to postgres;

-- PostgREST logs in as authenticator and switches to the request's role.
grant anon, authenticated, service_role to authenticator;
-- Migrations run as postgres, which may switch to (and grant) the API roles (PG 16+: admin).
grant anon, authenticated, service_role to postgres with admin option;

-- ---------------------------------------------------------------------------------------
-- Database and schemas
-- ---------------------------------------------------------------------------------------
do $$
begin
  -- Lets migrations running as postgres `create schema private`, and owning publications.
  execute format('grant all on database %I to postgres', current_database());
end
$$;

-- Migrations running as postgres create objects in public.
alter schema public owner to postgres;

create schema if not exists extensions;
alter schema extensions owner to postgres;

create schema if not exists auth authorization supabase_auth_admin;
alter schema auth owner to supabase_auth_admin;

grant usage on schema public, extensions, auth to anon, authenticated, service_role;
grant usage on schema auth to postgres;

-- Extensions live in schema extensions. They are created here, as superuser, because a
-- non-superuser postgres cannot create untrusted extensions. pgvector is required; pgcrypto
-- is added when the server ships it (gen_random_uuid() is built into PostgreSQL 13+ anyway).
do $$
begin
  if not exists (select from pg_available_extensions where name = 'vector') then
    raise exception 'the pgvector extension ("vector") is not installed on this PostgreSQL server (%)',
      current_setting('server_version')
      using hint = 'Supabase ships pgvector. Run `bash scripts/install-postgres.sh` (PostgreSQL 18 + pgvector, '
                   'found automatically afterwards; or set SCHEMAC_PG_BIN to the bin directory it prints), '
                   'or install pgvector for this server.';
  end if;
end
$$;
create extension if not exists vector with schema extensions;
do $$
begin
  if exists (select from pg_available_extensions where name = 'pgcrypto') then
    create extension if not exists pgcrypto with schema extensions;
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------
-- auth.users (the columns schemac and typical app migrations use, types as in GoTrue)
-- ---------------------------------------------------------------------------------------
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  created_at timestamptz,
  updated_at timestamptz,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
-- As in GoTrue: emails are unique among non-SSO users.
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
alter table auth.users owner to supabase_auth_admin;
-- postgres may reference auth.users and put triggers on it (e.g. "on signup, create profile");
-- anon and authenticated get nothing on it, and neither does service_role (on Supabase the
-- API never reaches auth tables directly: GoTrue's admin API does, as supabase_auth_admin).
grant all on table auth.users to postgres;

-- ---------------------------------------------------------------------------------------
-- auth helper functions, exactly as on Supabase
-- ---------------------------------------------------------------------------------------
create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
create or replace function auth.role() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
create or replace function auth.email() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text $$;
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role, postgres;

-- ---------------------------------------------------------------------------------------
-- Realtime publication (empty), owned by postgres so migrations can add tables to it.
-- ---------------------------------------------------------------------------------------
do $$
begin
  if not exists (select from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
alter publication supabase_realtime owner to postgres;

-- ---------------------------------------------------------------------------------------
-- Migration history table of the Supabase CLI
-- ---------------------------------------------------------------------------------------
create schema if not exists supabase_migrations authorization postgres;
alter schema supabase_migrations owner to postgres;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
alter table supabase_migrations.schema_migrations owner to postgres;
