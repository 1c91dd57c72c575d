"""enroll at the sites: screening apart, consent before enrollment, concealed randomization

* ``screening_resource`` keeps the EHR data of patients who have not consented, per study and
  site, outside ``raw_resource`` and the audit trail; ``screening_record`` and
  ``screening_result`` (empty until now) are made again to name the patient by source and id
  instead of a ``patient_link``, with evidence and the data seen; ``screening_tally`` keeps the
  counts of purged screenings.
* ``patient_link`` gains its site; ``consent`` names the patient (``patient_link_id``) so it can
  precede enrollment, and who obtained it; ``subject`` gets its per-site number (unique), the
  enrollment time and the investigator who signed eligibility off.
* ``randomization_scheme`` (commitment), ``randomization_slot`` (the permuted-block lists),
  ``randomization_draw`` (minimization's draws), ``unblinding``;
  ``allocation`` gains the study-wide ``sequence`` (unique) and the factor levels.
* ``outbox_message``: writes waiting for the hospital's FHIR server.
* ``planned_visit`` records its anchor and whether the anchor date is the actual one.
* Roles ``principal_investigator`` and ``unblinded_statistician``; criterion result
  ``investigator``. SQLite cannot alter a CHECK constraint, so the tables that carry the role
  check are rebuilt; ``audit_event``'s triggers are dropped for the rebuild and re-created as
  they were (read from the schema, so triggers added by other migrations survive too).

Revision ID: f7ad58a838fd
Revises: 3b7e9c1d4a20
Create Date: 2026-12-03 10:02:00.274562+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import edc.warehouse.coltypes

revision: str = "f7ad58a838fd"
down_revision: str | None = "3b7e9c1d4a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REBUILD = {"sqlite_autoincrement": True}
UTC = edc.warehouse.coltypes.UTCDateTime

OLD_ROLES = ("site_staff", "investigator", "monitor", "data_manager", "statistician", "admin")
NEW_ROLES = (*OLD_ROLES, "principal_investigator", "unblinded_statistician")
OLD_SITE_ROLES = ("site_staff", "investigator")
NEW_SITE_ROLES = (*OLD_SITE_ROLES, "principal_investigator")
OLD_RESULTS = ("met", "not_met", "unknown")
NEW_RESULTS = (*OLD_RESULTS, "investigator")
OUTCOMES = ("eligible", "ineligible", "undetermined")


def _any_of(column: str, values: Sequence[str]) -> str:
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def _site_role(site_roles: Sequence[str]) -> str:
    return f"site_id IS NOT NULL OR role NOT IN ({', '.join(repr(r) for r in site_roles)})"


def upgrade() -> None:
    _replace_role_checks(NEW_ROLES, NEW_SITE_ROLES)
    _create_tables()
    _recreate_screening(new=True)

    with op.batch_alter_table("allocation", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("factors", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_allocation_study_id_sequence"), ["study_id", "sequence"]
        )
        batch_op.create_check_constraint("sequence_positive", "sequence >= 1")

    with op.batch_alter_table("patient_link", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patient_link_study_id_site_id_site"),
            "site",
            ["study_id", "site_id"],
            ["study_id", "id"],
        )

    with op.batch_alter_table("consent", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("patient_link_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("obtained_by", sa.Text(), nullable=True))
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_consent_patient_link_id"), ["patient_link_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_patient_link_id_patient_link"),
            "patient_link",
            ["patient_link_id"],
            ["id"],
        )

    with op.batch_alter_table("planned_visit", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("anchor_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("anchor_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("anchor_actual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("planned_visit", table_kwargs=REBUILD) as batch_op:
        # Models have no server defaults (audit rows read every column from the object).
        batch_op.alter_column("anchor_actual", existing_type=sa.Boolean(), server_default=None)

    with op.batch_alter_table("subject", table_kwargs=REBUILD) as batch_op:
        batch_op.add_column(sa.Column("number_in_site", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("enrolled_at", UTC(), nullable=True))
        batch_op.add_column(
            sa.Column("eligibility_signed_by", sa.String(length=128), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_subject_study_id_site_id_number_in_site"),
            ["study_id", "site_id", "number_in_site"],
        )
        batch_op.create_check_constraint("number_in_site_positive", "number_in_site >= 1")


def downgrade() -> None:
    # People given the new roles lose them; the tables made here go with what they hold.
    op.execute(
        "DELETE FROM role_assignment WHERE role IN ('principal_investigator', "
        "'unblinded_statistician')"
    )
    with op.batch_alter_table("subject", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_subject_number_in_site_positive"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_subject_study_id_site_id_number_in_site"), type_="unique"
        )
        batch_op.drop_column("eligibility_signed_by")
        batch_op.drop_column("enrolled_at")
        batch_op.drop_column("number_in_site")
    with op.batch_alter_table("planned_visit", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_column("anchor_actual")
        batch_op.drop_column("anchor_date")
        batch_op.drop_column("anchor_id")
    # A consent recorded before enrollment cannot be expressed in the older schema.
    op.execute("DELETE FROM consent WHERE subject_id IS NULL")
    with op.batch_alter_table("consent", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consent_patient_link_id_patient_link"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_consent_patient_link_id"))
        batch_op.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("obtained_by")
        batch_op.drop_column("patient_link_id")
    with op.batch_alter_table("patient_link", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_patient_link_study_id_site_id_site"), type_="foreignkey"
        )
        batch_op.drop_column("site_id")
    with op.batch_alter_table("allocation", table_kwargs=REBUILD) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_allocation_sequence_positive"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_allocation_study_id_sequence"), type_="unique")
        batch_op.drop_column("factors")
        batch_op.drop_column("sequence")
    _recreate_screening(new=False)
    op.drop_table("unblinding")
    op.drop_table("randomization_draw")
    op.drop_table("randomization_slot")
    op.drop_table("randomization_scheme")
    op.drop_table("screening_tally")
    op.drop_index(
        op.f("ix_screening_resource_study_id_source_patient_id"), table_name="screening_resource"
    )
    op.drop_table("screening_resource")
    op.drop_index(op.f("ix_outbox_message_study_id_status"), table_name="outbox_message")
    op.drop_table("outbox_message")
    _replace_role_checks(OLD_ROLES, OLD_SITE_ROLES)


def _replace_role_checks(roles: Sequence[str], site_roles: Sequence[str]) -> None:
    audit_roles = (*roles, "system")
    sqlite = op.get_bind().dialect.name == "sqlite"
    triggers: list[str] = []
    if sqlite:
        # The rebuild copies audit_event into a new table; its triggers go with the old one.
        triggers = [
            str(sql)
            for (sql,) in op.get_bind().execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'audit_event' ORDER BY name"
                )
            )
        ]
        for (name,) in op.get_bind().execute(
            sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")
        ):
            op.execute(f"DROP TRIGGER {name}")
    for table, allowed in (
        ("audit_event", audit_roles),
        ("data_query_message", audit_roles),
        ("role_assignment", roles),
    ):
        kwargs = {} if table == "audit_event" else REBUILD
        with op.batch_alter_table(table, table_kwargs=kwargs) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_role"), type_="check")
            batch_op.create_check_constraint("role", _any_of("role", allowed))
            if table == "role_assignment":
                batch_op.drop_constraint(
                    batch_op.f("ck_role_assignment_site_role_has_site"), type_="check"
                )
                batch_op.create_check_constraint("site_role_has_site", _site_role(site_roles))
    for sql in triggers:
        op.execute(sql)


def _create_tables() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("identifier_system", sa.Text(), nullable=False),
        sa.Column("identifier_value", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTC(), nullable=True),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _any_of("operation", ("create", "upsert")), name=op.f("ck_outbox_message_operation")
        ),
        sa.CheckConstraint(
            _any_of("status", ("pending", "sent", "superseded")),
            name=op.f("ck_outbox_message_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_message_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_outbox_message_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_outbox_message_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_outbox_message_study_id_status"), "outbox_message", ["study_id", "status"]
    )
    op.create_table(
        "screening_resource",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("logical_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=True),
        sa.Column("last_updated", UTC(), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("json_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_screening_resource_sha256_length")),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_screening_resource_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_screening_resource_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_resource")),
        sa.UniqueConstraint(
            "study_id",
            "source",
            "resource_type",
            "logical_id",
            name=op.f("uq_screening_resource_study_id_source_resource_type_logical_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_screening_resource_study_id_source_patient_id"),
        "screening_resource",
        ["study_id", "source", "patient_id"],
    )
    op.create_table(
        "screening_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("purged_at", UTC(), nullable=False),
        sa.Column("screened_before", UTC(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("ineligible", sa.Integer(), nullable=False),
        sa.Column("undetermined", sa.Integer(), nullable=False),
        sa.Column("failed_by_criterion", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id", "site_id"],
            ["site.study_id", "site.id"],
            name=op.f("fk_screening_tally_study_id_site_id_site"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_screening_tally_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_tally")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "randomization_scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("design_json", sa.Text(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("opened_at", UTC(), nullable=False),
        sa.CheckConstraint(
            _any_of("method", ("permuted-block", "minimization")),
            name=op.f("ck_randomization_scheme_method"),
        ),
        sa.CheckConstraint(
            "length(commitment) = 64", name=op.f("ck_randomization_scheme_commitment_length")
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_randomization_scheme_protocol_version_id_protocol_version"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_randomization_scheme_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomization_scheme")),
        sa.UniqueConstraint("study_id", name=op.f("uq_randomization_scheme_study_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "randomization_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(length=255), nullable=False),
        sa.Column("sequence_in_stratum", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.Integer(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("position_in_block", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"],
            ["randomization_scheme.id"],
            name=op.f("fk_randomization_slot_scheme_id_randomization_scheme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomization_slot")),
        sa.UniqueConstraint(
            "scheme_id",
            "stratum",
            "sequence_in_stratum",
            name=op.f("uq_randomization_slot_scheme_id_stratum_sequence_in_stratum"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "randomization_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("draws", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"],
            ["randomization_scheme.id"],
            name=op.f("fk_randomization_draw_scheme_id_randomization_scheme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomization_draw")),
        sa.UniqueConstraint(
            "scheme_id", "sequence", name=op.f("uq_randomization_draw_scheme_id_sequence")
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "unblinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("unblinded_at", UTC(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_unblinding_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_unblinding_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unblinding")),
        sqlite_autoincrement=True,
    )


def _recreate_screening(*, new: bool) -> None:
    """Drop and make ``screening_record`` and ``screening_result`` in their new (or old) shape.

    Nothing ever wrote them before this revision, and the new shape keeps no data of the old.
    """
    op.drop_table("screening_result")
    op.drop_table("screening_record")
    patient = (
        [
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("patient_id", sa.String(length=64), nullable=False),
        ]
        if new
        else [sa.Column("patient_link_id", sa.Integer(), nullable=False)]
    )
    extra = (
        [
            sa.Column("as_of", sa.Date(), nullable=False),
            sa.Column("failed", sa.Integer(), nullable=False),
            sa.Column("unknown", sa.Integer(), nullable=False),
            sa.Column("data_seen", sa.JSON(), nullable=False),
            sa.UniqueConstraint(
                "study_id",
                "source",
                "patient_id",
                name=op.f("uq_screening_record_study_id_source_patient_id"),
            ),
        ]
        if new
        else [
            sa.ForeignKeyConstraint(
                ["patient_link_id"],
                ["patient_link.id"],
                name=op.f("fk_screening_record_patient_link_id_patient_link"),
            )
        ]
    )
    op.create_table(
        "screening_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        *patient,
        sa.Column("protocol_version_id", sa.Integer(), nullable=not new),
        sa.Column("screened_at", UTC(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(_any_of("outcome", OUTCOMES), name=op.f("ck_screening_record_outcome")),
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
        *extra,
        sqlite_autoincrement=True,
    )
    if new:
        op.create_index(
            op.f("ix_screening_record_study_id_site_id_screened_at"),
            "screening_record",
            ["study_id", "site_id", "screened_at"],
        )
    results = NEW_RESULTS if new else OLD_RESULTS
    extra_columns = (
        [
            sa.Column("exclusion", sa.Boolean(), nullable=False),
            sa.Column("suggested", sa.String(length=16), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.CheckConstraint(
                _any_of("suggested", NEW_RESULTS), name=op.f("ck_screening_result_suggested")
            ),
        ]
        if new
        else []
    )
    op.create_table(
        "screening_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("screening_record_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        *extra_columns,
        sa.CheckConstraint(_any_of("result", results), name=op.f("ck_screening_result_result")),
        sa.ForeignKeyConstraint(
            ["screening_record_id"],
            ["screening_record.id"],
            name=op.f("fk_screening_result_screening_record_id_screening_record"),
            ondelete="CASCADE" if new else None,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_result")),
        sa.UniqueConstraint(
            "screening_record_id",
            "criterion_id",
            name=op.f("uq_screening_result_screening_record_id_criterion_id"),
        ),
        sqlite_autoincrement=True,
    )
