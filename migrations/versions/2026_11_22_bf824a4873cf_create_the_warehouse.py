"""create the warehouse

Every table of the first schema, and the triggers that make audit_event append-only in the
database itself: UPDATE and DELETE (and TRUNCATE on PostgreSQL) are refused whoever asks, and
an INSERT must link to the row before it (prev_hash = hash of row seq - 1, the genesis hash of
64 zeros for row 1), so the hash chain can neither fork nor skip a row.

Revision ID: bf824a4873cf
Revises:
Create Date: 2026-11-22 05:10:20.484937+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The trigger SQL is written out here rather than imported: a migration must keep doing what it
# did when it was written, whatever later code says.
GENESIS = "0" * 64  # prev_hash of the first audit row
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_event_chain_link BEFORE INSERT ON audit_event
    WHEN NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_event WHERE seq = NEW.seq - 1),
        CASE WHEN NEW.seq = 1 THEN '{GENESIS}' END)
    BEGIN SELECT RAISE(ABORT, 'audit_event chain broken: prev_hash is not the hash of row seq - 1'); END
    """,
]
POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
    f"""
    CREATE FUNCTION audit_event_chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.prev_hash IS DISTINCT FROM COALESCE(
            (SELECT hash FROM audit_event WHERE seq = NEW.seq - 1),
            CASE WHEN NEW.seq = 1 THEN '{GENESIS}' END) THEN
            RAISE EXCEPTION 'audit_event chain broken at seq %: prev_hash is not the hash of row %',
                NEW.seq, NEW.seq - 1 USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_chain_link BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_chain_link()
    """,
]
DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER audit_event_no_update",
        "DROP TRIGGER audit_event_no_delete",
        "DROP TRIGGER audit_event_chain_link",
    ],
    "postgresql": [
        "DROP TRIGGER audit_event_no_truncate ON audit_event",
        "DROP TRIGGER audit_event_no_update_delete ON audit_event",
        "DROP FUNCTION audit_event_append_only()",
        "DROP TRIGGER audit_event_chain_link ON audit_event",
        "DROP FUNCTION audit_event_chain_link()",
    ],
}


revision: str = "bf824a4873cf"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "(action = 'insert' OR action = 'update' OR action = 'delete')",
            name=op.f("ck_audit_event_action"),
        ),
        sa.CheckConstraint(
            "(role = 'site_staff' OR role = 'investigator' OR role = 'monitor' OR role = 'data_manager' OR role = 'statistician' OR role = 'admin' OR role = 'system')",
            name=op.f("ck_audit_event_role"),
        ),
        sa.CheckConstraint(
            "length(hash) = 64 AND length(prev_hash) = 64", name=op.f("ck_audit_event_hash_length")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_event_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    op.create_index(
        op.f("ix_audit_event_table_name_record_id"),
        "audit_event",
        ["table_name", "record_id"],
        unique=False,
    )

    op.create_table(
        "raw_resource",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("logical_id", sa.String(length=64), nullable=True),
        sa.Column("version_id", sa.String(length=64), nullable=True),
        sa.Column("version_key", sa.String(length=71), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("json_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "direction = 'sent' OR logical_id IS NOT NULL",
            name=op.f("ck_raw_resource_received_has_logical_id"),
        ),
        sa.CheckConstraint(
            "(direction = 'received' OR direction = 'sent')", name=op.f("ck_raw_resource_direction")
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_raw_resource_sha256_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_resource")),
        sa.UniqueConstraint(
            "source",
            "resource_type",
            "logical_id",
            "version_key",
            name=op.f("uq_raw_resource_source_resource_type_logical_id_version_key"),
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_raw_resource_resource_type_logical_id"),
        "raw_resource",
        ["resource_type", "logical_id"],
        unique=False,
    )

    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
        sa.UniqueConstraint("code", name=op.f("uq_study_code")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "raw_resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field_path", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "(status = 'open' OR status = 'resolved')", name=op.f("ck_data_problem_status")
        ),
        sa.ForeignKeyConstraint(
            ["raw_resource_id"],
            ["raw_resource.id"],
            name=op.f("fk_data_problem_raw_resource_id_raw_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_problem")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "protocol_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("bundle_json", sa.Text(), nullable=False),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=False),
        sa.Column("compiled_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(bundle_sha256) = 64", name=op.f("ck_protocol_version_bundle_sha256_length")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_protocol_version_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_version")),
        sa.UniqueConstraint(
            "study_id", "version", name=op.f("uq_protocol_version_study_id_version")
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_site_country_alpha2")),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_site_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("study_id", "code", name=op.f("uq_site_study_id_code")),
        sa.UniqueConstraint("study_id", "id", name=op.f("uq_site_study_id_id")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sync_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("cursor_value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_sync_cursor_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_cursor")),
        sa.UniqueConstraint(
            "source",
            "study_id",
            "resource_type",
            name=op.f("uq_sync_cursor_source_study_id_resource_type"),
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "published_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("server_url", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("server_id", sa.String(length=64), nullable=False),
        sa.Column("server_version_id", sa.String(length=64), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_published_definition_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_definition")),
        sa.UniqueConstraint(
            "protocol_version_id",
            "server_url",
            "resource_type",
            "canonical_url",
            name="uq_published_definition_target",
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "(role = 'site_staff' OR role = 'investigator' OR role = 'monitor' OR role = 'data_manager' OR role = 'statistician' OR role = 'admin')",
            name=op.f("ck_role_assignment_role"),
        ),
        sa.CheckConstraint(
            "site_id IS NOT NULL OR role NOT IN ('site_staff', 'investigator')",
            name=op.f("ck_role_assignment_site_role_has_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_role_assignment_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_role_assignment_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_role_assignment_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
        sa.UniqueConstraint(
            "user_id",
            "study_id",
            "site_id",
            "role",
            name=op.f("uq_role_assignment_user_id_study_id_site_id_role"),
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("subject_code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "(status = 'candidate' OR status = 'eligible' OR status = 'follow-up' OR status = 'ineligible' OR status = 'not-registered' OR status = 'off-study' OR status = 'on-study' OR status = 'on-study-intervention' OR status = 'on-study-observation' OR status = 'pending-on-study' OR status = 'potential-candidate' OR status = 'screening' OR status = 'withdrawn')",
            name=op.f("ck_subject_status"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_subject_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_subject_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject")),
        sa.UniqueConstraint("study_id", "id", name=op.f("uq_subject_study_id_id")),
        sa.UniqueConstraint(
            "study_id", "subject_code", name=op.f("uq_subject_study_id_subject_code")
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "adverse_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("ctcae_term", sa.Text(), nullable=False),
        sa.Column("meddra_llt_code", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("attribution", sa.String(length=16), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("resolution_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "raw_resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "(attribution = 'unrelated' OR attribution = 'unlikely' OR attribution = 'possible' OR attribution = 'probable' OR attribution = 'definite')",
            name=op.f("ck_adverse_event_attribution"),
        ),
        sa.CheckConstraint(
            "(outcome = 'resolved' OR outcome = 'recovering' OR outcome = 'ongoing' OR outcome = 'resolvedWithSequelae' OR outcome = 'fatal' OR outcome = 'unknown')",
            name=op.f("ck_adverse_event_outcome"),
        ),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name=op.f("ck_adverse_event_grade_1_to_5")),
        sa.CheckConstraint(
            "resolution_date IS NULL OR resolution_date >= onset_date",
            name=op.f("ck_adverse_event_resolution_after_onset"),
        ),
        sa.ForeignKeyConstraint(
            ["raw_resource_id"],
            ["raw_resource.id"],
            name=op.f("fk_adverse_event_raw_resource_id_raw_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_adverse_event_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.Column("stratum", sa.String(length=255), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=False),
        sa.Column("sequence_in_block", sa.Integer(), nullable=False),
        sa.Column("randomized_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("block_number >= 1", name=op.f("ck_allocation_block_number_positive")),
        sa.CheckConstraint(
            "sequence_in_block >= 1", name=op.f("ck_allocation_sequence_in_block_positive")
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "subject_id"],
            ["subject.study_id", "subject.id"],
            name=op.f("fk_allocation_study_id_subject_id_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_allocation_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation")),
        sa.UniqueConstraint(
            "study_id",
            "stratum",
            "block_number",
            "sequence_in_block",
            name=op.f("uq_allocation_study_id_stratum_block_number_sequence_in_block"),
        ),
        sa.UniqueConstraint("subject_id", name=op.f("uq_allocation_subject_id")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("form_version", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fhir_reference", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_consent_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "deviation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "(kind = 'visit_out_of_window' OR kind = 'missed_visit' OR kind = 'visit_out_of_order' OR kind = 'ineligible_enrolled' OR kind = 'late_sae_report' OR kind = 'missing_data' OR kind = 'other')",
            name=op.f("ck_deviation_kind"),
        ),
        sa.CheckConstraint(
            "(severity = 'minor' OR severity = 'major')", name=op.f("ck_deviation_severity")
        ),
        sa.CheckConstraint(
            "(status = 'open' OR status = 'acknowledged' OR status = 'closed')",
            name=op.f("ck_deviation_status"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_deviation_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_deviation_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_deviation_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deviation")),
        sa.UniqueConstraint(
            "study_id", "fingerprint", name=op.f("uq_deviation_study_id_fingerprint")
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "form_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.String(length=64), nullable=True),
        sa.Column("questionnaire_url", sa.Text(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=64), nullable=False),
        sa.Column(
            "raw_resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("fhir_version_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("authored", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'in-progress' OR status = 'completed' OR status = 'amended' OR status = 'entered-in-error' OR status = 'stopped')",
            name=op.f("ck_form_response_status"),
        ),
        sa.ForeignKeyConstraint(
            ["raw_resource_id"],
            ["raw_resource.id"],
            name=op.f("fk_form_response_raw_resource_id_raw_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_form_response_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_response")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "lock_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(state = 'open' OR state = 'frozen' OR state = 'locked' OR state = 'unlocked')",
            name=op.f("ck_lock_event_state"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_lock_event_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_lock_event_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_event")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "patient_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_patient_link_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_patient_link_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_link")),
        sa.UniqueConstraint(
            "study_id",
            "source",
            "patient_id",
            name=op.f("uq_patient_link_study_id_source_patient_id"),
        ),
        sa.UniqueConstraint("subject_id", name=op.f("uq_patient_link_subject_id")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "planned_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.String(length=64), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("window_low", sa.Date(), nullable=False),
        sa.Column("window_high", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "window_low <= target_date AND target_date <= window_high",
            name=op.f("ck_planned_visit_window_order"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_planned_visit_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_visit")),
        sa.UniqueConstraint(
            "subject_id", "visit_id", name=op.f("uq_planned_visit_subject_id_visit_id")
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.String(length=64), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("encounter_reference", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_visit_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("subject_id", "visit_id", name=op.f("uq_visit_subject_id_visit_id")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.String(length=255), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(origin = 'manual' OR origin = 'edit_check')", name=op.f("ck_data_query_origin")
        ),
        sa.CheckConstraint(
            "(status = 'open' OR status = 'answered' OR status = 'closed' OR status = 'cancelled')",
            name=op.f("ck_data_query_status"),
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["form_response.id"],
            name=op.f("fk_data_query_response_id_form_response"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_data_query_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_data_query_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_data_query_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_query")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "export_manifest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("lock_event_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "(format = 'csv' OR format = 'parquet' OR format = 'xpt')",
            name=op.f("ck_export_manifest_format"),
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_export_manifest_sha256_length")),
        sa.ForeignKeyConstraint(
            ["lock_event_id"],
            ["lock_event.id"],
            name=op.f("fk_export_manifest_lock_event_id_lock_event"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_export_manifest_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_manifest")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "item_value",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=255), nullable=False),
        sa.Column("answer_index", sa.Integer(), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("value_number", sa.Numeric(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("value_code", sa.String(length=255), nullable=True),
        sa.Column("value_system", sa.Text(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_datetime", sa.DateTime(timezone=True), nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("questionnaire_url", sa.Text(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "(value_type = 'boolean' OR value_type = 'decimal' OR value_type = 'integer' OR value_type = 'date' OR value_type = 'datetime' OR value_type = 'time' OR value_type = 'string' OR value_type = 'uri' OR value_type = 'coding' OR value_type = 'quantity' OR value_type = 'reference' OR value_type = 'attachment')",
            name=op.f("ck_item_value_value_type"),
        ),
        sa.CheckConstraint(
            "answer_index >= 0", name=op.f("ck_item_value_answer_index_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["form_response.id"],
            name=op.f("fk_item_value_response_id_form_response"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_value")),
        sa.UniqueConstraint(
            "response_id",
            "link_id",
            "answer_index",
            name=op.f("uq_item_value_response_id_link_id_answer_index"),
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_item_value_questionnaire_url_link_id"),
        "item_value",
        ["questionnaire_url", "link_id"],
        unique=False,
    )

    op.create_table(
        "screening_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("patient_link_id", sa.Integer(), nullable=False),
        sa.Column("protocol_version_id", sa.Integer(), nullable=True),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'eligible' OR outcome = 'ineligible' OR outcome = 'undetermined')",
            name=op.f("ck_screening_record_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_link_id"],
            ["patient_link.id"],
            name=op.f("fk_screening_record_patient_link_id_patient_link"),
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_screening_record_protocol_version_id_protocol_version"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_screening_record_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_screening_record_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_record")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sdv_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=255), nullable=True),
        sa.Column("verified_by", sa.String(length=128), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["form_response.id"],
            name=op.f("fk_sdv_mark_response_id_form_response"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_sdv_mark_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdv_mark")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_query_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_query_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "(role = 'site_staff' OR role = 'investigator' OR role = 'monitor' OR role = 'data_manager' OR role = 'statistician' OR role = 'admin' OR role = 'system')",
            name=op.f("ck_data_query_message_role"),
        ),
        sa.ForeignKeyConstraint(
            ["data_query_id"],
            ["data_query.id"],
            name=op.f("fk_data_query_message_data_query_id_data_query"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_query_message")),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    op.create_table(
        "screening_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_record_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "(result = 'met' OR result = 'not_met' OR result = 'unknown')",
            name=op.f("ck_screening_result_result"),
        ),
        sa.ForeignKeyConstraint(
            ["screening_record_id"],
            ["screening_record.id"],
            name=op.f("fk_screening_result_screening_record_id_screening_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_result")),
        sa.UniqueConstraint(
            "screening_record_id",
            "criterion_id",
            name=op.f("uq_screening_result_screening_record_id_criterion_id"),
        ),
        # Never reuse the id of a deleted row (ids are named in the audit trail).
        sqlite_autoincrement=True,
    )
    triggers = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}
    for statement in triggers[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("screening_result")
    op.drop_table("data_query_message")
    op.drop_table("sdv_mark")
    op.drop_table("screening_record")
    op.drop_index(op.f("ix_item_value_questionnaire_url_link_id"), table_name="item_value")
    op.drop_table("item_value")
    op.drop_table("export_manifest")
    op.drop_table("data_query")
    op.drop_table("visit")
    op.drop_table("planned_visit")
    op.drop_table("patient_link")
    op.drop_table("lock_event")
    op.drop_table("form_response")
    op.drop_table("deviation")
    op.drop_table("consent")
    op.drop_table("allocation")
    op.drop_table("adverse_event")
    op.drop_table("subject")
    op.drop_table("role_assignment")
    op.drop_table("published_definition")
    op.drop_table("sync_cursor")
    op.drop_table("site")
    op.drop_table("protocol_version")
    op.drop_table("data_problem")
    op.drop_table("user_account")
    op.drop_table("study")
    op.drop_index(op.f("ix_raw_resource_resource_type_logical_id"), table_name="raw_resource")
    op.drop_table("raw_resource")
    op.drop_index(op.f("ix_audit_event_table_name_record_id"), table_name="audit_event")
    op.drop_table("audit_event")
