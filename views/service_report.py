"""The signed service report on paper (issue 18, R-TKT-7) and the signature image it shows.

Part of the ticket view: both pages load the ticket through its scoped get_one, so a user who
cannot see the ticket gets a 404 here too.
"""
from __future__ import annotations

import io

from flask import abort, request, send_file
from flask_admin import expose

from backoffice import warranty
from backoffice.timezones import zone_of


class ServiceReportPages:
    """Mixed into views.tickets.TicketView."""

    def _ticket_with_report(self):
        ticket = self.get_one(request.args.get("id", ""))
        if ticket is None or ticket.report is None:
            abort(404)
        return ticket

    @expose("/service_report/")
    def service_report_view(self):
        ticket = self._ticket_with_report()
        return self.render("admin/service_report_print.html", ticket=ticket, report=ticket.report,
                           verdict=warranty.of_ticket(ticket), zone=zone_of(ticket.outlet))

    @expose("/signature/")
    def signature_view(self):
        """The drawn signature, inline: a PNG the service checked (backoffice.signatures), never
        an arbitrary attachment (those are served as downloads only)."""
        signature = self._ticket_with_report().report.signature
        if signature is None or signature.content_type != "image/png":
            abort(404)
        response = send_file(io.BytesIO(signature.data), mimetype="image/png", max_age=0)
        response.headers["Cache-Control"] = "private, no-store"
        return response
