"""The private-address policy: which addresses are refused, and what exactly an exemption
exempts (issue 2). Hostname resolution goes through an injected resolver, except for
``localhost``, which the system resolves from /etc/hosts without the network."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from scrapy.settings import Settings

from crawler.exceptions import BlockedAddressError, DnsLookupError
from crawler.netguard.policy import AddressPolicy
from crawler.netguard.policy import resolve as system_resolve

if TYPE_CHECKING:
    from collections.abc import Sequence

NON_PUBLIC = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.5",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # instance metadata
    "169.254.170.2",  # the ECS task credentials endpoint
    "100.64.0.1",  # carrier-grade NAT
    "100.127.255.254",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 for 169.254.169.254
]


def resolver_of(table: dict[str, Sequence[str]]):
    def resolve(host: str, port: int) -> Sequence[str]:
        if host == "localhost":
            return system_resolve(host, port)
        if host not in table:
            raise OSError(-2, "Name or service not known")
        return table[host]

    return resolve


def policy(*entries: str, **names: Sequence[str]) -> AddressPolicy:
    table = {name.replace("_", "."): addresses for name, addresses in names.items()}
    return AddressPolicy.from_entries(entries, resolver=resolver_of(table))


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BlockedAddressError, match="ALLOW_PRIVATE_ADDRESSES="):
        AddressPolicy().check(address, 80)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::6810:85e5"])
def test_public_addresses_pass_and_are_returned(address: str) -> None:
    assert AddressPolicy().check(address, 443) == address


def test_the_message_says_what_was_refused_and_how_to_allow_it() -> None:
    with pytest.raises(BlockedAddressError) as info:
        AddressPolicy().check("10.0.0.5", 80, url="http://10.0.0.5/")
    assert str(info.value) == (
        "http://10.0.0.5/ resolves to 10.0.0.5, a private address; "
        "allow it with ALLOW_PRIVATE_ADDRESSES=10.0.0.5:80 if you mean it"
    )
    assert info.value.error_type == "blocked_address"


def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    expected = re.escape("localhost:8000 resolves to 127.0.0.1")
    with pytest.raises(BlockedAddressError, match=expected):
        AddressPolicy().check("localhost", 8000)


def test_a_hostname_is_refused_when_any_of_its_addresses_is_private() -> None:
    rebinding = policy(rebind_example=["93.184.216.34", "169.254.169.254"])
    with pytest.raises(BlockedAddressError, match=re.escape("169.254.169.254, a link-local")):
        rebinding.check("rebind.example", 443)


def test_a_public_hostname_returns_the_vetted_address_to_connect_to() -> None:
    names = policy(www_example_com=["93.184.216.34", "2606:2800:220:1::"])
    assert names.check("WWW.Example.com.", 443) == "93.184.216.34"
    assert names.check_all("www.example.com", 443) == ["93.184.216.34", "2606:2800:220:1::"]


def test_an_unresolvable_host_is_a_dns_error() -> None:
    with pytest.raises(DnsLookupError, match=re.escape("cannot resolve 'nowhere.invalid'")):
        policy().check("nowhere.invalid", 80)


def test_host_port_exempts_that_port_only() -> None:
    exempt = policy("127.0.0.1:8000")
    assert exempt.check("127.0.0.1", 8000) == "127.0.0.1"
    with pytest.raises(BlockedAddressError):
        exempt.check("127.0.0.1", 8001)
    with pytest.raises(BlockedAddressError):
        exempt.check("127.0.0.2", 8000)


def test_an_ip_entry_matches_the_address_however_it_is_written() -> None:
    exempt = policy("127.0.0.1:8000", "[::1]:9000")
    assert exempt.check("::ffff:127.0.0.1", 8000) == "::ffff:127.0.0.1"
    assert exempt.check("[0:0:0:0:0:0:0:1]", 9000) == "0:0:0:0:0:0:0:1"
    assert exempt.check("localhost", 8000) == "127.0.0.1"


def test_a_host_entry_exempts_every_port_of_that_name_only() -> None:
    exempt = policy("Intranet.Corp", intranet_corp=["10.1.2.3"], other_corp=["10.1.2.3"])
    assert exempt.check("intranet.corp", 80) == "10.1.2.3"
    assert exempt.check("INTRANET.corp.", 8443) == "10.1.2.3"
    with pytest.raises(BlockedAddressError):
        exempt.check("other.corp", 80)
    with pytest.raises(BlockedAddressError):
        exempt.check("10.1.2.3", 80)


def test_a_host_port_entry_by_name() -> None:
    exempt = policy("intranet.corp:8080", intranet_corp=["10.1.2.3"])
    assert exempt.check("intranet.corp", 8080) == "10.1.2.3"
    with pytest.raises(BlockedAddressError):
        exempt.check("intranet.corp", 80)


def test_a_cidr_entry_exempts_addresses_inside_the_network_on_any_port() -> None:
    exempt = policy("10.0.0.0/8", "fd00::/8", lab_corp=["10.9.9.9"])
    assert exempt.check("10.255.0.1", 1) == "10.255.0.1"
    assert exempt.check("lab.corp", 443) == "10.9.9.9"
    assert exempt.check("fd00::5", 80) == "fd00::5"
    with pytest.raises(BlockedAddressError):
        exempt.check("172.16.0.1", 80)
    with pytest.raises(BlockedAddressError):
        exempt.check("169.254.169.254", 80)


def test_an_exemption_does_not_cover_the_other_addresses_of_a_name() -> None:
    exempt = policy("10.0.0.0/8", mixed_corp=["10.0.0.1", "169.254.170.2"])
    with pytest.raises(BlockedAddressError, match=re.escape("169.254.170.2")):
        exempt.check("mixed.corp", 80)


def test_from_settings_reads_a_list_or_a_comma_separated_string() -> None:
    from_list = AddressPolicy.from_settings(
        Settings({"ALLOW_PRIVATE_ADDRESSES": ["127.0.0.1:8000", "10.0.0.0/8"]})
    )
    from_cli = AddressPolicy.from_settings(
        Settings({"ALLOW_PRIVATE_ADDRESSES": " 127.0.0.1:8000 , 10.0.0.0/8 ,"})
    )
    assert from_list.exemptions == from_cli.exemptions
    assert [e.entry for e in from_cli.exemptions] == ["127.0.0.1:8000", "10.0.0.0/8"]
    assert from_cli.check("127.0.0.1", 8000) == "127.0.0.1"


def test_the_default_settings_exempt_nothing() -> None:
    default = AddressPolicy.from_settings(Settings({"ALLOW_PRIVATE_ADDRESSES": []}))
    assert default.exemptions == ()
    with pytest.raises(BlockedAddressError):
        default.check("127.0.0.1", 80)


@pytest.mark.parametrize(
    "entry",
    [
        "http://127.0.0.1:8000",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:http",
        "10.0.0.0/33",
        "not a host",
        "*",
        "[::1",
        "[::1]x",
        "[intranet]:80",
        "host/path",
    ],
)
def test_a_bad_entry_is_a_value_error_naming_the_setting_and_the_entry(entry: str) -> None:
    with pytest.raises(ValueError, match=r"ALLOW_PRIVATE_ADDRESSES: bad entry") as info:
        AddressPolicy.from_settings(Settings({"ALLOW_PRIVATE_ADDRESSES": [entry]}))
    assert repr(entry) in str(info.value)
