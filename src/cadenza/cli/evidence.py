"""CLI group: The evidence catalog: what the research says, with caveats."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

# No subcommands: the group itself is the query, so options may follow the search term.
app = typer.Typer(
    help="The evidence catalog: what the research says, with caveats.",
    no_args_is_help=True,
    context_settings={"allow_interspersed_args": True},
    options_metavar="[OPTIONS]",
    subcommand_metavar="",
)

_ARROWS = {"decrease": "↓", "increase": "↑", "no_difference": "=", "uncertain": "?"}


@app.callback(invoke_without_command=True)
def evidence(
    term: str = typer.Argument(None, help="Search condition, outcome, intervention family or citation, e.g. anxiety."),
    condition: str = typer.Option(None, help="Only entries for this condition (e.g. dementia)."),
    intervention: str = typer.Option(None, help="Family (ras, mit, nicu, ...) or session intervention code."),
    outcome: str = typer.Option(None, help="Only entries reporting this outcome (e.g. pain)."),
    interventions: bool = typer.Option(False, "--interventions", help="List the session intervention catalog instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """What the reviews and trials say, each with its certainty and caveat. Example: cadenza evidence anxiety"""
    from rich.console import Console
    from rich.table import Table

    from cadenza.errors import CadenzaError
    from cadenza.evidence.query import find_entries, list_interventions

    console = Console()
    if interventions:
        items = list_interventions()
        if as_json:
            typer.echo(json.dumps([asdict(i) for i in items], indent=2, ensure_ascii=False))
            return
        table = Table("code", "name", "mode", "supported by", "tested without benefit", "note",
                      title="Session interventions", show_lines=True)
        for i in items:
            table.add_row(i.code, i.name, i.mode, "\n".join(i.supporting) or "none",
                          "\n".join(i.not_supporting) or "-", i.evidence_note)
        console.print(table)
        return
    try:
        entries = find_entries(term, condition=condition, intervention=intervention, outcome=outcome)
    except CadenzaError as exc:
        Console(stderr=True).print(f"[red]Error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([asdict(e) | {"doi_url": e.doi_url} for e in entries], indent=2, ensure_ascii=False))
        return
    if not entries:
        console.print(f"No evidence entries match {term or condition or intervention or outcome!r}.")
        raise typer.Exit(0)
    table = Table(title=f"Evidence: {term or condition or intervention or outcome or 'all entries'}", show_lines=True)
    table.add_column("source", overflow="fold", ratio=3)
    table.add_column("condition", ratio=2)
    table.add_column("outcomes (↓ lower, ↑ higher, = no difference, ? uncertain)", ratio=4)
    table.add_column("caveat", ratio=5)
    for e in entries:
        outcomes = "\n".join(
            f"{_ARROWS[o.direction]} {o.name}" + (f" ({o.certainty} certainty)" if o.certainty else "")
            + (f": {o.note}" if o.note else "")
            for o in e.outcomes
        )
        certainty = f"\ncertainty: {e.certainty}" if e.certainty else ""
        source = f"{e.citation.split('.')[0]} ({e.year})\n{e.design}{certainty}\ndoi:{e.doi}"
        table.add_row(source, e.condition, outcomes, e.caveat)
    console.print(table)
    console.print("Music therapy is an adjunct to care, not a cure.", style="dim")
