"""The host's faster timestamp parse gives the SDK the same instants dateutil would."""
import importlib

from dateutil.parser import parse as dateutil_parse

from durapipe.local import history
from durapipe.local.sdk_timestamps import use_fast_timestamps

SDK = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")


def test_timestamps_the_host_writes_parse_to_the_same_instant_and_offset():
    use_fast_timestamps()
    clock = history.Clock()
    for text in [clock.now(), clock.now(), "2026-11-29T07:39:01Z", "2026-11-29T07:39:01.862317+00:00"]:
        fast, slow = SDK.dt_parse(text), dateutil_parse(text)
        assert fast == slow and fast.utcoffset() == slow.utcoffset(), text


def test_text_that_is_not_iso_8601_still_reaches_dateutil():
    use_fast_timestamps()
    assert SDK.dt_parse("Nov 29 2026 07:39:01") == dateutil_parse("Nov 29 2026 07:39:01")


def test_installing_twice_keeps_one_wrapper():
    use_fast_timestamps()
    first = SDK.dt_parse
    use_fast_timestamps()
    assert SDK.dt_parse is first
