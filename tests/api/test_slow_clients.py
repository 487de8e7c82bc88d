"""Slow and idle clients never starve the API (issue 12), and ``Server`` names no version.

Under gunicorn's ``gthread`` worker, eight connections that sent a request
line and a header and then nothing held every worker thread, and ordinary
requests timed out. The served API (``daybook serve``, both backends) must
keep answering correctly and promptly with 128 such connections held open.
The unit tests below check the server's own defences in process, with a
short deadline: half-sent and silent connections are closed, a complete
request answered slowly is not, and unparseable HTTP gets the JSON error.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from email.utils import parsedate_to_datetime

import pytest
import requests
from reference import series
from served_api import EXAMPLE_CLIENT, EXAMPLE_DEVICE, EXAMPLE_USER, activity_path

SLOW_CONNECTIONS = 128
CLIENT_TIMEOUT = 5.0  # generous: a prompt answer takes milliseconds, a starved one never comes
# the real server's answers may be a fresh worker's first queries on a loaded machine;
# a starved request still never gets one
SERVED_TIMEOUT = 30.0
PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n"  # never finished


def assert_no_version(server_header: str) -> None:
    assert server_header, "a plain product name is expected"
    assert not re.search(r"[/\d]", server_header), f"Server header names a version: {server_header}"


@contextmanager
def half_sent_requests(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send a request line and one header, then nothing."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=CLIENT_TIMEOUT)
            sock.sendall(PARTIAL_REQUEST)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_128_half_sent_requests_do_not_stop_ordinary_requests(served):
    host, port = served.url.removeprefix("http://").split(":")
    start, end = date(2026, 1, 1), date(2026, 1, 31)
    asks = [
        ("user", EXAMPLE_USER, "activity-count", "daily"),
        ("device", EXAMPLE_DEVICE, "activity-count", "weekly"),
        ("device", EXAMPLE_DEVICE, "user-count", "monthly"),
    ]
    token = served.token(EXAMPLE_CLIENT)
    with half_sent_requests(host, int(port), SLOW_CONNECTIONS):
        for round_ in range(3):
            for entity, entity_id, metric, granularity in asks:
                # a fresh connection per request: each must get through the held-open ones
                response = requests.get(
                    served.url + activity_path(EXAMPLE_CLIENT, entity, entity_id),
                    params={
                        "metric": metric,
                        "granularity": granularity,
                        "start_date": start.isoformat(),
                        "end_date": end.isoformat(),
                    },
                    headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                    timeout=SERVED_TIMEOUT,
                )
                assert response.status_code == 200, (round_, response.text)
                expected = series(
                    served.reference,
                    entity=entity,
                    client_id=EXAMPLE_CLIENT,
                    entity_id=entity_id,
                    metric=metric,
                    start=start,
                    end=end,
                    granularity=granularity,
                )
                assert response.json()["data"] == [
                    {"date": day.isoformat(), "value": value} for day, value in expected
                ]
                assert_no_version(response.headers.get("Server", ""))
        health = requests.get(served.url + "/healthz", timeout=SERVED_TIMEOUT)
        assert health.status_code == 200
        assert_no_version(health.headers.get("Server", ""))


# --------------------------------------------------------------------------- in process


def slow_app(environ, start_response):
    """A WSGI app that takes longer to answer than the read deadline."""
    time.sleep(1.0 if environ["PATH_INFO"] == "/slow" else 0)
    answer = {"path": environ["PATH_INFO"], "query": environ["QUERY_STRING"], "at": time.time()}
    body = json.dumps(answer).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


@pytest.fixture(scope="module")
def quick_server() -> Iterator[tuple[str, int]]:
    """uvicorn with the workers' own configuration, a 0.5 s read deadline, on a free port."""
    from uvicorn import Config, Server

    from api.asgi_bridge import WsgiOnThreads
    from api.http_protocol import DaybookProtocol
    from api.worker import DaybookWorker

    class QuickProtocol(DaybookProtocol):
        read_timeout = 0.5

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    config = Config(
        WsgiOnThreads(slow_app, threads=2),
        **{**DaybookWorker.CONFIG_KWARGS, "http": QuickProtocol, "log_level": "warning"},
    )
    server = Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield listener.getsockname()
    server.should_exit = True
    thread.join(timeout=10)


def read_all(sock: socket.socket) -> bytes:
    """All the server sent until it closed. A reset is a close too: a server that closes a
    connection with bytes of ours still unread (a drip that crossed the deadline) resets it."""
    raw = b""
    with suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            raw += chunk
    return raw


@pytest.mark.parametrize(
    "sent",
    [b"", PARTIAL_REQUEST, b"\r\n"],
    ids=["silent", "half-sent", "blank-line"],
)
def test_a_connection_that_does_not_deliver_a_request_in_time_is_closed(quick_server, sent):
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        for _ in range(3):  # a trickle of bytes does not extend the deadline
            time.sleep(0.2)
            try:
                sock.sendall(b"X-Drip: 1\r\n" if sent == PARTIAL_REQUEST else b"")
            except OSError:
                break
        assert read_all(sock) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < CLIENT_TIMEOUT - 1


def test_a_complete_request_answered_slowly_is_not_cut_off(quick_server):
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"GET /slow?a=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    answer = json.loads(body)
    assert (answer["path"], answer["query"]) == ("/slow", "a=1")
    # one Date, stamped when the answer was made (not a clock cached up to a second earlier)
    dates = re.findall(rb"(?im)^date: *(.*?)\r?$", head)
    assert len(dates) == 1
    assert parsedate_to_datetime(dates[0].decode()).timestamp() >= int(answer["at"])
    server_header = re.search(rb"(?im)^server: *(.*?)\r?$", head)
    assert server_header is not None
    assert_no_version(server_header.group(1).decode())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /x HTTP/1.1\r\nHost: x\r\nBad Header!: 1\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 70_000 + b"\r\n\r\n",
    ],
    ids=["bad-header-name", "huge-request-line", "huge-header"],
)
def test_unparseable_or_oversized_http_gets_the_json_error(quick_server, request_bytes):
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        with suppress(OSError):  # the server may answer and close before reading everything
            sock.sendall(request_bytes)
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_parameter" and error["details"] == {}
    assert_no_version(re.search(rb"Server: (.*)", head).group(1).decode().strip())
    assert_the_apis_own_headers(head)


def assert_the_apis_own_headers(head: bytes) -> None:
    """What every answer of the API's app carries (``api.headers``, ``api.logs``) is on the
    server's own answers too."""
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    )
    assert headers[b"x-content-type-options"] == b"nosniff", head
    assert re.fullmatch(rb"[0-9a-f]{32}", headers[b"x-request-id"]), head
    assert headers[b"cache-control"] == b"no-store", head


@pytest.mark.parametrize(
    "second",
    [
        b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ids=["unknown-method", "malformed-method", "bad-content-length", "length-and-chunked"],
)
@pytest.mark.parametrize("first", ["/fast", "/slow"])
def test_requests_pipelined_before_an_unparseable_one_are_answered_first(
    quick_server, first, second
):
    """A complete request keeps its answer when a broken one follows it in the same read:
    the answers come in order, the error last, then the connection closes."""
    earlier = (
        f"GET {first}?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /fast?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(earlier.encode() + second)
        answers = read_all(sock)
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answers) == [b"200", b"200", b"400"], answers
    queries = [json.loads(part)["query"] for part in re.findall(rb'\{"path".*?\}', answers)]
    assert queries == ["n=1", "n=2"]
    *_, error_answer = answers.split(b"HTTP/1.1 ")
    assert json.loads(error_answer.partition(b"\r\n\r\n")[2])["error"]["code"] == (
        "invalid_parameter"
    )


def test_liveness_answers_while_every_app_thread_is_busy(quick_server):
    """``/healthz`` runs on the event loop: it says the process answers even when every app
    thread waits (here on a slow app, in production on a warehouse lock)."""
    busy = [socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) for _ in range(2)]
    try:
        for number, sock in enumerate(busy):  # both of the quick server's app threads
            sock.sendall(f"GET /slow?n={number} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.2)
        with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            health = json.loads(read_all(probe).partition(b"\r\n\r\n")[2])
        slow = []
        for sock in busy:
            sock.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            first = read_all(sock).split(b"HTTP/1.1 ")[1]
            slow.append(json.loads(first.partition(b"\r\n\r\n")[2]))
    finally:
        for sock in busy:
            sock.close()
    assert health["path"] == "/healthz"
    assert [answer["path"] for answer in slow] == ["/slow", "/slow"]
    # answered before either app thread was free again, not queued behind them
    assert health["at"] < min(answer["at"] for answer in slow)


def test_a_client_waiting_to_send_its_body_is_answered_without_being_invited_to(quick_server):
    """``Expect: 100-continue``: the API reads no bodies, so none is asked for (a 100 would
    invite any client, authenticated or not, to send it); the final answer comes at once."""
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(
            b"GET /fast?n=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 1000000\r\n\r\n"
        )
        answer = read_all(sock)  # closed after the answer: the announced body is unread
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answer) == [b"200"], answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["query"] == "n=1"


def test_a_body_over_the_limit_gets_the_json_413(quick_server):
    """Refused by the server before the app runs: the contract's shape, its own code."""
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        size = 2 * 1024 * 1024
        head = f"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n"
        with suppress(OSError):  # the server may answer and close before reading it all
            sock.sendall(head.encode() + b"x" * size)
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert_the_apis_own_headers(head)


@pytest.mark.parametrize(
    ("reads", "status", "method"),
    [
        ([b"FOO /x HTTP/1.1\r\nHost: x\r\n\r\n"], 501, "FOO"),
        ([b"get /x HTTP/1.1\r\nHost: x\r\n\r\n"], 501, "get"),  # methods are case-sensitive
        ([b"\r\nBREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"], 501, "BREW"),  # a blank line first
        ([b"G@T /x HTTP/1.1\r\nHost: x\r\n\r\n"], 400, None),  # not a method token
        # the second request in a read of its own, after the first's answer
        (
            [b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", b"FOO /x HTTP/1.1\r\nHost: x\r\n\r\n"],
            501,
            "FOO",
        ),
    ],
    ids=["unknown", "lower-case", "after-a-blank-line", "malformed", "second-on-a-connection"],
)
def test_a_method_the_server_does_not_know_is_json_501(quick_server, reads, status, method):
    """RFC 9110: an unrecognised method is 501; a request line that is no method is 400."""
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        for number, data in enumerate(reads):
            if number:
                time.sleep(0.2)
            sock.sendall(data)
        answers = read_all(sock)
    last = answers.split(b"HTTP/1.1 ")[-1]
    head, _, body = last.partition(b"\r\n\r\n")
    assert head.startswith(str(status).encode()), answers
    assert b"Content-Type: application/json" in head
    error = json.loads(body)["error"]
    if method is None:
        assert error["code"] == "invalid_parameter"
    else:
        assert error["code"] == "not_implemented"
        assert error["message"] == f"Method {method} is not implemented by this server"


def test_a_method_refused_before_it_arrived_whole_is_501_without_a_name(quick_server):
    """httptools refuses ``FO`` at once, so the method's name is not known: none is made up."""
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"FO")
        time.sleep(0.2)
        with suppress(OSError):  # answered and closed on the first bytes
            sock.sendall(b"O /x HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501"), head
    error = json.loads(body)["error"]
    assert error == {
        "code": "not_implemented",
        "message": "The request's method is not implemented by this server",
        "details": {},
    }


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
        (b"GET /fast HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", 400),
        (b"GET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200),
        (b"GET /fast HTTP/1.0\r\n\r\n", 200),  # HTTP/1.0 may omit Host
        (b"GET /fast HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),  # but never two
    ],
    ids=[
        "1.1-without-host",
        "1.1-with-two-hosts",
        "1.1-with-one-host",
        "1.0-without-host",
        "1.0-with-two-hosts",
    ],
)
def test_an_http_1_1_request_needs_exactly_one_host(quick_server, request_bytes, status):
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(request_bytes)
        head, _, body = read_all(sock).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == str(status).encode(), head
    if status == 400:
        error = json.loads(body)["error"]
        assert "exactly one Host header" in error["message"], error


def test_a_request_without_host_is_refused_in_its_turn_after_a_pipelined_one(quick_server):
    """The answer of the request sent before it on the connection is not cut off."""
    with socket.create_connection(quick_server, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"GET /slow?a=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /fast?n=2 HTTP/1.1\r\n\r\n")
        answers = read_all(sock)
    assert re.findall(rb"HTTP/1.1 (\d{3}) ", answers) == [b"200", b"400"], answers
    assert b'"query": "a=1"' in answers or b'"query":"a=1"' in answers


def test_ordinary_requests_get_through_while_half_sent_ones_wait(quick_server):
    host, port = quick_server
    with half_sent_requests(host, port, SLOW_CONNECTIONS):
        for _ in range(5):
            response = requests.get(
                f"http://{host}:{port}/fast", params={"n": "1"}, timeout=CLIENT_TIMEOUT
            )
            assert response.json()["query"] == "n=1"
