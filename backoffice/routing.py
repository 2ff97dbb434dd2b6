"""Which queue a new ticket goes to (R-TKT-3).

Issue classes route to the responsible team: size -> sales (with a stock check),
discomfort -> R&D / repair team, quality claims for a return or exchange -> production / QA,
and any quality problem of shoes (003, whatever the kind: a complaint too) -> production / QA;
other complaints have their own desk; everything else is the service desk's, by content.
"""
from models.choices import IssueCategory, ProductCategory, Queue, TicketKind


def queue_for(kind: str, category: str, product_category: str | None = None) -> str:
    """`category` is the issue class; `product_category` the category of the unit's model."""
    if product_category == ProductCategory.SHOES and category == IssueCategory.QUALITY:
        return Queue.QA.value  # 003: a shoe's quality problem goes to production / QA, whatever the kind
    if kind == TicketKind.COMPLAINT:
        return Queue.COMPLAINTS.value
    if category == IssueCategory.SIZE:
        return Queue.SALES.value
    if category == IssueCategory.DISCOMFORT:
        return Queue.RND.value
    if category == IssueCategory.QUALITY and kind == TicketKind.RETURN_EXCHANGE:
        return Queue.QA.value
    return Queue.SERVICE.value
