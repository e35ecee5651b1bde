from core import realtime
from core.models import Section


def test_saving_a_section_loaded_earlier_does_not_wind_its_event_sequence_back(section):
    stale = Section.objects.get(pk=section.pk)
    assert realtime.next_seq(section.pk) == 1
    stale.opening_hours = {**stale.opening_hours, "closes": "16:00"}
    stale.save()  # as the admin saves a section someone opened a while ago
    assert realtime.next_seq(section.pk) == 2
    assert Section.objects.get(pk=section.pk).opening_hours["closes"] == "16:00"
