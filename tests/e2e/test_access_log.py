"""The server's access log names every request's path; a secure page's path is its token."""

import urllib.error
import urllib.request

import pytest

from tests.processes import wait_for

pytestmark = [pytest.mark.e2e]


def test_the_access_log_keeps_the_request_but_not_the_secure_link_token(daphne):
    token = "Q3ZkYmFzZTY0LXRva2VuLWZvci10ZXN0aW5n"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{daphne.base_url}/m/{token}", timeout=10)
    assert refused.value.code == 404  # no such link; the request is logged all the same
    logged = wait_for(
        lambda: "/m/[token]" in daphne.log.read_text() and daphne.log.read_text(),
        what="the access log line",
    )
    assert '"GET /m/[token]" 404' in logged
    assert token not in logged
