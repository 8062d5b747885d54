"""Where the outbound proxy comes from, and which connections it carries."""

from __future__ import annotations

import base64

import pytest
from scrapy.settings import Settings

from crawler.netguard.outbound import OutboundProxy


def _from(environ: dict[str, str], **settings: object) -> OutboundProxy | None:
    return OutboundProxy.from_settings(Settings(settings), environ)


def test_none_by_default() -> None:
    assert _from({"PATH": "/usr/bin"}) is None


def test_the_environment_as_curl_reads_it_https_first() -> None:
    proxy = _from({"http_proxy": "http://plain:8080", "HTTPS_PROXY": "http://u:p%40ss@corp:3128"})
    assert proxy is not None
    assert (proxy.host, proxy.port) == ("corp", 3128)
    assert proxy.authorization == "Basic " + base64.b64encode(b"u:p@ss").decode()


def test_the_setting_wins_and_empty_means_direct() -> None:
    environ = {"https_proxy": "http://corp:3128"}
    proxy = _from(environ, RIVALSCOPE_OUTBOUND_PROXY="egress.internal:8888")
    assert proxy is not None
    assert (proxy.host, proxy.port, proxy.authorization) == ("egress.internal", 8888, None)
    assert _from(environ, RIVALSCOPE_OUTBOUND_PROXY="") is None


@pytest.mark.parametrize(
    ("environ", "setting", "named"),
    [
        ({}, "https://corp:3128", "RIVALSCOPE_OUTBOUND_PROXY"),
        ({}, "http://corp:99999", "RIVALSCOPE_OUTBOUND_PROXY"),
        ({"HTTPS_PROXY": "socks5://corp:1080"}, None, "HTTPS_PROXY"),
    ],
)
def test_an_unusable_proxy_names_where_it_came_from(
    environ: dict[str, str], setting: str | None, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        _from(environ, RIVALSCOPE_OUTBOUND_PROXY=setting)


def test_only_public_addresses_outside_no_proxy_go_through_it() -> None:
    proxy = _from({"https_proxy": "http://corp:3128", "no_proxy": "localhost,.corp.internal"})
    assert proxy is not None
    assert proxy.carries("example.com", "93.184.215.14")
    assert proxy.carries("example.com", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert not proxy.carries("wiki.corp.internal", "93.184.215.14")  # no_proxy
    assert not proxy.carries("intranet", "10.1.2.3")  # exempted private address: direct
    assert not proxy.carries("localhost", "127.0.0.1")
