"""Start SEKMET with the search parameters the EDC needs (runs inside SEKMET's own venv).

Stock SEKMET 0.1.1 only indexes hospital-workflow resources, and it ignores unknown search
parameters (returning every row) unless the client sends ``Prefer: handling=strict``. This
launcher adds the parameters for the trial resources to SEKMET's table
(``sekmet.fhir.search_params.PARAMS``) before the app is built, then serves it. SEKMET's source is
not edited. Resources stored by a server started without the launcher are not re-indexed, so
always start from an empty data directory.

Usage (the pytest fixture does this)::

    .venv-fhir-server/bin/python tests/fhir_server/launch.py \
        --config settings.json --host 127.0.0.1 --port 8092

``--host`` is required: SEKMET's default is 0.0.0.0, which would expose the test server.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

# name:kind:path1|path2[:TargetType], the same line format as SEKMET's own table, with names and
# paths from the R4 (4.0.1) search parameter registry for each resource.
_DEFINITIONAL = """
    identifier:token:identifier
    url:uri:url
    version:token:version
    name:string:name
    title:string:title
    status:token:status
    date:date:date
    publisher:string:publisher
"""

EXTRA_PARAMS: dict[str, str] = {
    "Questionnaire": _DEFINITIONAL
    + """
        code:token:item.code
        subject-type:token:subjectType
    """,
    "PlanDefinition": _DEFINITIONAL
    + """
        type:token:type
        definition:uri:action.definitionCanonical
    """,
    "ActivityDefinition": _DEFINITIONAL,
    "ValueSet": _DEFINITIONAL
    + """
        reference:uri:compose.include.system
    """,
    "CodeSystem": _DEFINITIONAL
    + """
        code:token:concept.code
        system:uri:url
    """,
    "QuestionnaireResponse": """
        identifier:token:identifier
        questionnaire:uri:questionnaire
        status:token:status
        subject:reference:subject
        patient:reference:subject:Patient
        author:reference:author
        authored:date:authored
        based-on:reference:basedOn
        part-of:reference:partOf
        encounter:reference:encounter
        source:reference:source
    """,
    "ResearchStudy": """
        identifier:token:identifier
        status:token:status
        title:string:title
        protocol:reference:protocol
        partof:reference:partOf
        sponsor:reference:sponsor
        principalinvestigator:reference:principalInvestigator
        site:reference:site
        category:token:category
        focus:token:focus
        keyword:token:keyword
        location:token:location
        date:date:period
    """,
    "ResearchSubject": """
        identifier:token:identifier
        status:token:status
        study:reference:study
        individual:reference:individual
        patient:reference:individual:Patient
        date:date:period
    """,
    "AdverseEvent": """
        identifier:token:identifier
        subject:reference:subject
        patient:reference:subject:Patient
        study:reference:study
        actuality:token:actuality
        event:token:event
        seriousness:token:seriousness
        severity:token:severity
        category:token:category
        date:date:date
        recorder:reference:recorder
        resultingcondition:reference:resultingCondition
        location:reference:location
        substance:reference:suspectEntity.instance
    """,
    "Consent": """
        scope:token:scope
        action:token:provision.action
        source-reference:reference:sourceReference
        organization:reference:organization
        consentor:reference:performer
        period:date:provision.period
    """,
    "Group": """
        actual:token:actual
        code:token:code
        characteristic:token:characteristic.code
        exclude:token:characteristic.exclude
        managing-entity:reference:managingEntity
    """,
}


def register_search_params() -> list[str]:
    """Add EXTRA_PARAMS to SEKMET's table in place; returns "Type.param" for each one added.

    :raises ValueError: if a line is malformed or an existing parameter would change meaning.
    """
    from sekmet.fhir import search_params

    added: list[str] = []
    for rtype, block in EXTRA_PARAMS.items():
        table = search_params.PARAMS.setdefault(rtype, {})
        for line in filter(None, (raw.strip() for raw in block.splitlines())):
            bits = line.split(":")
            if len(bits) not in (3, 4):
                raise ValueError(f"malformed search parameter line {line!r}")
            name, kind, paths = bits[0], bits[1], tuple(bits[2].split("|"))
            target = bits[3] if len(bits) == 4 else None
            param = search_params.SearchParam(name, kind, paths, target)
            existing = table.get(name)
            if existing is not None and existing != param:
                raise ValueError(f"{rtype}.{name} already means {existing}, not {param}")
            if existing is None:
                table[name] = param
                added.append(f"{rtype}.{name}")
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="SEKMET settings file (YAML or JSON)")
    parser.add_argument("--host", required=True, help="interface to bind (tests use 127.0.0.1)")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument(
        "--stock", action="store_true", help="serve SEKMET as shipped (no extra parameters)"
    )
    parser.add_argument(
        "--exit-with-parent", type=int, metavar="PID", help="stop when process PID is gone"
    )
    args = parser.parse_args()
    if args.exit_with_parent:
        _exit_with_parent(args.exit_with_parent)

    if not args.stock:
        register_search_params()  # before the app exists: the indexer reads it on every write

    import uvicorn
    from sekmet.config import load_settings
    from sekmet.main import create_app

    settings = load_settings(args.config)
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


def _exit_with_parent(parent: int) -> None:
    """Stop this server when the test run that started it dies (killed, crashed), so no
    orphaned server is left listening."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


if __name__ == "__main__":
    main()
