"""One rule for how urgent an inquiry is: the queue order in the database, the rank each row
carries, and the deadlines a doctor gets all agree."""

import itertools

import pytest

from henvendelser.models import Inquiry
from tests.factories import InquiryFactory
from triage.urgency import urgency_of

GRADES = [None, "green", "amber", "red"]


def test_an_alarm_flag_outranks_every_grade_but_red():
    assert urgency_of(grade=None, alarm=True).key == "alarm"
    assert urgency_of(grade="green", alarm=True).rank == 0
    assert urgency_of(grade="red", alarm=True).key == "red"
    assert urgency_of(grade=None, alarm=False).label == "Ikke vurdert"


def test_a_flagged_untriaged_inquiry_gets_reds_deadline_and_an_unflagged_one_ambers():
    assert urgency_of(grade=None, alarm=True).deadline_grade == "red"
    assert urgency_of(grade=None, alarm=False).deadline_grade == "amber"
    assert urgency_of(grade="green", alarm=False).deadline_grade == "green"


@pytest.mark.django_db
def test_the_database_orders_as_the_rule_ranks(section):
    for grade, alarm in itertools.product(GRADES, [False, True]):
        InquiryFactory(section=section, grade=grade, alarm=alarm, summary=f"{grade}/{alarm}")
    from triage.urgency import RANK_ANNOTATION

    for inquiry in Inquiry.objects.annotate(rank=RANK_ANNOTATION):
        assert inquiry.rank == urgency_of(grade=inquiry.grade, alarm=inquiry.alarm).rank, (
            inquiry.summary
        )


@pytest.mark.django_db
def test_every_queue_row_carries_its_rank_in_queue_order(api_as, coordinator, section):
    for grade, alarm in itertools.product(GRADES, [False, True]):
        InquiryFactory(section=section, grade=grade, alarm=alarm)
    rows = api_as(coordinator).get("/api/inquiries/").json()["results"]
    ranks = [row["urgency"]["rank"] for row in rows]
    assert ranks == sorted(ranks)
    assert {row["urgency"]["label"] for row in rows} == {
        "Rød",
        "Mulig rød",
        "Gul",
        "Grønn",
        "Ikke vurdert",
    }
