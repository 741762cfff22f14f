"""The alerts' status page (``/alerts``): the subscriptions, and the alerts not delivered yet or
given up, each with its attempts and last error, for signed-in clinicians. The delivery itself
is ``triage.alerts.Deliverer``, started and stopped with the application (``app.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .pages import _who, render, to_login


def status_page(request: Request) -> Response:
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    deliverer = getattr(request.app.state, "alerts", None)
    return render(
        request,
        "alerts.html",
        clinician=clinician,
        subscriptions=log.alerts.subscriptions(),
        counts=log.alerts.counts(),
        waiting=log.alerts.outbox(("pending", "failed"), limit=200),
        running=deliverer is not None,
        deliverer_error=getattr(deliverer, "last_error", None),
        last_pass=getattr(deliverer, "last_pass", None),
    )
