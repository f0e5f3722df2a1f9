"""Download of a session's arbitration table as an XLSX workbook (built by ``commission.exports``).

Whoever may see the session downloads it: the region's ARS staff, and the members sitting in it;
anyone else gets 404, as for a session that does not exist. Every download is on the audit trail.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header

from guichet.core import audit
from guichet.core.spreadsheets import XLSX

from . import arbitration, exports


@login_required
def arbitration_xlsx(request, pk):
    # Fetched through the scope: the same rule as arbitration.can_see_session, in one query.
    session = get_object_or_404(arbitration.sessions_visible_to(request.user).select_related("call"), pk=pk)
    content = exports.arbitration_workbook(session)
    audit.record(request.user, "export:arbitration", request=request, session=pk)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, exports.export_filename(session))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
