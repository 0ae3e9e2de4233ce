"""Home programmes and the person's app: the therapist invites the client (or a caregiver), assigns tasks
with their music, and sees adherence; the person follows the programme on their phone at ``/me``.

The folder follows the tool layout (``docs/architecture.md``): ``records`` (invitations, devices, tasks,
completions), ``actions`` (the workflows both faces call), ``cli`` (``cadenza home``), ``pages``
(``/clients/{client_id}/home``, which includes ``me``: the person's app at ``/me``), ``templates/home/``
and ``static/`` (the app's script, service worker and web app manifest).
"""

from cadenza.plugins import Tool

TOOL = Tool(
    "home", "Home programme and the person's app",
    "Invite the client or a caregiver to their phone, assign listening and walking tasks with their music, and "
    "see what was done and how they felt before and after.",
    cli="cadenza.tools.home.cli:app",
    cli_top_level="cadenza.tools.home.cli:top_level",  # `cadenza me`: self-care, no account
    pages="cadenza.tools.home.pages:router",
    records="cadenza.tools.home.records",
    templates="cadenza.tools.home",
    overview="cadenza.tools.home.actions:overview_lines",
    overview_many="cadenza.tools.home.actions:overview_lines_of_clients",
    fhir="cadenza.tools.home.fhir:resources",  # a CarePlan of the tasks, an Observation per completion  # adherence and alerts on the client page and report
    audience="not_nicu",
)
