"""How urgent an inquiry is: the one rule behind the queue order, the pages' badges and the
deadlines of escalations (DESIGN.md §4 to §6).

An inquiry is as urgent as its grade, except that a text flagged by the alarm-word screen since
the last assessment makes it a possible red until someone assesses it again. With neither a grade
nor a flag it is not yet triaged: it comes after green in the queue, and a doctor asked about it
gets amber's deadline. `urgency_of` decides in Python; `RANK_ANNOTATION` is the same rule for the
database, so the queue can be ordered there. Pages and sockets get the result with each row and
never decide it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Urgency:
    key: str  # red, alarm, amber, green, none
    rank: int  # queue order: lower first
    label: str
    deadline_grade: str  # the grade whose deadlines apply to an escalation

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "rank": self.rank, "label": self.label}


_LEVELS = {
    "red": (0, _("Rød"), "red"),
    "alarm": (0, _("Mulig rød"), "red"),
    "amber": (1, _("Gul"), "amber"),
    "green": (2, _("Grønn"), "green"),
    "none": (3, _("Ikke vurdert"), "amber"),
}


def urgency_of(*, grade: str | None, alarm: bool) -> Urgency:
    """Red stays red; an alarm flag outranks any other grade; no grade is 'not yet triaged'."""
    if grade == "red":
        key = "red"
    elif alarm:
        key = "alarm"
    else:
        key = grade or "none"
    rank, label, deadline_grade = _LEVELS[key]
    return Urgency(key=key, rank=rank, label=str(label), deadline_grade=deadline_grade)


def urgency_of_inquiry(inquiry: object) -> Urgency:
    return urgency_of(grade=getattr(inquiry, "grade", None), alarm=getattr(inquiry, "alarm", False))


# The database's twin of `urgency_of(...).rank`, tested against it for every combination.
RANK_ANNOTATION = Case(
    When(Q(grade="red") | Q(alarm=True), then=Value(0)),
    When(grade="amber", then=Value(1)),
    When(grade="green", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
