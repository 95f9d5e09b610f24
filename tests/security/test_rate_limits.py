"""Rate limits count a client once: by IPv4 address, or by IPv6 /64 (one subscriber's or server's allocation)."""
import secrets

import pytest


def token_misses(client, count: int, address: str) -> list[int]:
    return [client.get(f"/p/{secrets.token_urlsafe(24)}", environ_base={"REMOTE_ADDR": address}).status_code
            for _ in range(count)]


@pytest.fixture
def limited(app, make_study):
    app.config["LINK_RATE_LIMIT"] = "5 per minute"
    make_study()
    return app.test_client()


def test_addresses_in_one_ipv6_64_share_one_limit(limited):
    # Five different addresses of one /64, then a sixth: the limit counts them as one client.
    statuses = [token_misses(limited, 1, f"2001:db8:1:2::{n:x}")[0] for n in range(1, 7)]
    assert statuses == [404] * 5 + [429]
    # The next /64 is somebody else.
    assert token_misses(limited, 1, "2001:db8:1:3::1") == [404]


def test_ipv4_addresses_and_ipv4_mapped_ipv6_count_as_the_ipv4_address(limited):
    assert token_misses(limited, 3, "192.0.2.7") == [404] * 3
    assert token_misses(limited, 3, "::ffff:192.0.2.7") == [404, 404, 429]
    assert token_misses(limited, 1, "192.0.2.8") == [404]
