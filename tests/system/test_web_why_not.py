"""The check page shows the clinician the more severe rules that did not fire (issue 14), as
'triage log show' does, from the same explanation."""

from __future__ import annotations

import html
import re

import triage
from tests.support.web_support import Server
from triage.checking.replay import entry_why_not
from triage.log import TriageLog


def test_the_check_page_lists_the_rules_that_did_not_fire(server: Server) -> None:
    entry_id = server.ids["reduce_load"]
    with server.client() as client:
        server.sign_in(client)
        page = client.get(f"/checks/{entry_id}").text
    section = re.search(r'<section class="why-not" id="why-not">(.*?)</section>', page, re.S)
    assert section is not None
    shown = html.unescape(section.group(1))
    with TriageLog(server.db) as log:
        found = entry_why_not(log, log.entry(entry_id), triage.default_pack())
    assert not isinstance(found, str) and found
    for reason in found:
        assert reason.rule in shown and reason.words() in shown
    assert "1 answer away" in shown and "never advice for the patient" in shown


def test_an_emergency_has_no_more_severe_rule(server: Server) -> None:
    with server.client() as client:
        server.sign_in(client)
        page = client.get(f"/checks/{server.ids['emergency']}").text
    assert "none: no rule is more severe than this outcome" in page
