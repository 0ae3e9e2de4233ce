"""The discharge summary as a printable PDF (WeasyPrint, the ``pdf`` extra), for the referrer or the next
service: the course of care from the referral to the discharge, the plan's goals and the summary with its
signature and addenda. Pure presentation of loaded rows; the caller authorises and audits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadenza.clinic.models import Client, Goal, TherapySession
from cadenza.errors import ParameterError
from cadenza.tools.care import records
from cadenza.tools.care.records import CareDocument


@dataclass(frozen=True)
class DischargeReport:
    client: Client
    discharge: CareDocument
    referral: CareDocument | None
    plan: CareDocument | None
    goals: list[Goal]
    sessions: int
    first_session: dt.date | None
    intact: bool


def build_report(db: Session, client: Client, document_id: int) -> DischargeReport:
    doc = records.get_document(db, client, document_id)
    if doc.kind != "discharge":
        raise ParameterError(f"document_id {doc.id} is a {doc.kind}; only a discharge summary is printed")
    documents = [d for d in records.client_documents(db, client)
                 if (d.document_date, d.id) <= (doc.document_date, doc.id)]
    plan = records.latest(documents, "plan")
    goal_ids = plan.content["goal_ids"] if plan is not None else []
    goals = list(db.scalars(select(Goal).where(Goal.client_id == client.id, Goal.id.in_(goal_ids)).order_by(Goal.id)))
    count, first = db.execute(select(func.count(TherapySession.id), func.min(TherapySession.session_date))
                              .where(TherapySession.client_id == client.id,
                                     TherapySession.session_date <= doc.document_date)).one()
    return DischargeReport(client=client, discharge=doc, referral=records.latest(documents, "referral"), plan=plan,
                           goals=goals, sessions=int(count or 0), first_session=first,
                           intact=records.verify_document(doc))


def render_html(report: DischargeReport) -> str:
    from cadenza.web.templating import templates

    return templates.env.get_template("care/discharge_summary.html").render(r=report, k=report.discharge.content)


def render_pdf(report: DischargeReport) -> bytes:
    """The summary as a PDF (WeasyPrint and Pango: ``pip install 'cadenza[pdf]'``)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint installed without Pango
        raise ParameterError(f"the PDF needs WeasyPrint and Pango (pip install 'cadenza[pdf]'): {exc}") from None
    return weasyprint.HTML(string=render_html(report)).write_pdf()
