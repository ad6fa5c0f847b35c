"""URL and host validation: only forms every parser reads the same way are accepted."""

from __future__ import annotations

import pytest

from apps.outbound import host_problems, url_problems


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/x",
        "http://127.0.0.1:8080/hook",
        "https://[2001:db8::1]:8443/x?y=1",
        "https://relay_1.internal/x",
        "HTTPS://Hooks.Example.COM/x",
        "https://xn--bcher-kva.example/x",
    ],
)
def test_ordinary_urls_are_accepted(url: str) -> None:
    assert url_problems(url) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8340\\@hooks.invalid/x", "backslash"),
        ("http://[::1]:8340\\@hooks.invalid/x", "backslash"),
        ("http://hooks.invalid\\x", "backslash"),
        ("http://user@hooks.invalid/x", "credentials"),
        ("http://user:pw@hooks.invalid/x", "credentials"),
        ("http://0x7f.1/x", "dotted-decimal"),
        ("http://017700000001/x", "dotted-decimal"),
        ("http://2130706433/x", "dotted-decimal"),
        ("http://127.1/x", "dotted-decimal"),
        ("http://127.000.000.001/x", "dotted-decimal"),
        ("http://hooks.invalid./x", "end with a dot"),
        ("http://127.0.0.1./x", "end with a dot"),
        ("http://%31%32%37.0.0.1/x", "percent"),
        ("http://hooks%2einvalid/x", "percent"),
        ("http://[fe80::1%25eth0]/x", "zone"),
        ("http://[::1/x", "not a valid URL"),
        ("http://bücher.example/x", "xn--"),
        ("http://hooks.invalid:0/x", "port"),
        ("http://hooks.invalid:99999/x", "port"),
        ("http://ho oks.invalid/x", "whitespace"),
        ("ftp://hooks.invalid/x", "http://"),
        ("file:///etc/passwd", "http://"),
        ("http:///nohost", "no host"),
        ("", "non-empty"),
    ],
)
def test_ambiguous_or_non_canonical_urls_are_refused_saying_why(url: str, says: str) -> None:
    problems = url_problems(url)
    assert problems, url
    assert says in problems[0], problems


@pytest.mark.parametrize("host", ["smtp.example.com", "10.0.0.5", "[::1]", "localhost"])
def test_canonical_hosts_are_accepted(host: str) -> None:
    assert host_problems(host) == []


@pytest.mark.parametrize("host", ["0x7f.1", "0177.0.0.1", "smtp.example.com.", "a\\b", "a b"])
def test_non_canonical_hosts_are_refused(host: str) -> None:
    assert host_problems(host)
