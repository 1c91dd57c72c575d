-- Database roles for an edc warehouse on PostgreSQL (see ../runbook.md, "Database roles").
--
-- Run once, as a superuser, connected to the empty edc database, before the first migration:
--     psql -v ON_ERROR_STOP=1 -h DBHOST -U postgres -d edc -f roles.sql
-- then migrate as the owner:  EDC_DATABASE_URL=postgresql://edc_owner@DBHOST/edc edc db upgrade
-- and run everything else as the application role (EDC_DATABASE_URL=postgresql://edc_app@...).
--
-- Why three roles: only a table's owner (or a superuser) can drop or disable its triggers, and
-- only a superuser can set session_replication_role (which skips triggers). So edc_app, which
-- owns nothing and is no superuser, cannot switch off the audit trail's append-only triggers,
-- the write guard on trial tables, or the lock triggers; edc_owner is used only to migrate.

CREATE ROLE edc_owner LOGIN;  -- owns the schema; runs `edc db upgrade`; kept by the DBA
CREATE ROLE edc_app LOGIN;    -- edc's commands and services: reads and writes rows, nothing else
CREATE ROLE edc_read LOGIN;   -- people and reporting tools: read only

-- The schema belongs to the owner; nobody else may create anything in it.
ALTER SCHEMA public OWNER TO edc_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO edc_app, edc_read;

-- Every table and sequence the migrations create (as edc_owner) gets these grants. No
-- TRUNCATE, REFERENCES or TRIGGER for anyone but the owner.
ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO edc_app;
ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO edc_app;
ALTER DEFAULT PRIVILEGES FOR ROLE edc_owner IN SCHEMA public
    GRANT SELECT ON TABLES TO edc_read;
