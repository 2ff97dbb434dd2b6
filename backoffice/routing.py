"""Which queue a new ticket goes to (R-TKT-3).

Issue classes route to the responsible team: size -> sales (with a stock check),
discomfort -> R&D / repair team, quality claims for a return or exchange -> production / QA;
complaints have their own desk; everything else is the service desk's, by content.
"""
from models.choices import IssueCategory, Queue, TicketKind


def queue_for(kind: str, category: str) -> str:
    if kind == TicketKind.COMPLAINT:
        return Queue.COMPLAINTS.value
    if category == IssueCategory.SIZE:
        return Queue.SALES.value
    if category == IssueCategory.DISCOMFORT:
        return Queue.RND.value
    if category == IssueCategory.QUALITY and kind == TicketKind.RETURN_EXCHANGE:
        return Queue.QA.value
    return Queue.SERVICE.value
