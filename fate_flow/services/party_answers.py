"""FATE's answer to an operation the initiator sends to every party of a model (deploy, migrate, load).

``{<role>: {<party_id>: retcode}, "detail": {<role>: {<party_id>: {"retcode", "retmsg"}}}}``: the
client reads one retcode per party, and the detail says why a party failed.
"""
from __future__ import annotations

from typing import Any

from fate_flow.errors import GENERIC_ERROR, SUCCESS


def per_party_answer(answers: dict[tuple[str, str], dict]) -> tuple[dict[str, Any], list[str]]:
    """The per-role retcodes and ``detail`` of the parties' answers, and one line per failed party."""
    data: dict[str, Any] = {}
    detail: dict[str, dict] = {}
    failures = []
    for (role, party_id), answer in answers.items():
        answer = answer if isinstance(answer, dict) else {"retmsg": "answer is not an object"}
        retcode = answer.get("retcode", GENERIC_ERROR)
        retmsg = str(answer.get("retmsg", ""))
        data.setdefault(role, {})[str(party_id)] = retcode
        detail.setdefault(role, {})[str(party_id)] = {"retcode": retcode, "retmsg": retmsg}
        if retcode != SUCCESS:
            failures.append(f"{role} {party_id}: {retmsg} (retcode {retcode})")
    data["detail"] = detail
    return data, failures
