-- Supabase's current default (new projects from 30 May 2026, all projects from 30 Oct 2026): nothing new in public is granted to the API roles automatically.
-- Revokes the legacy default privileges in case this database was set up in legacy mode
-- before, so the installed mode is exactly the one asked for. A no-op on a fresh database.
alter default privileges for role postgres in schema public revoke all on tables from anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role postgres in schema public revoke all on functions from anon, authenticated, service_role;
