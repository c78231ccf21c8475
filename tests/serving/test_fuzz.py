"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): no input gets a 5xx.

Each operation gets a bounded number of generated requests (valid and invalid options, random
bodies as multipart forms and raw bytes), sent over real HTTP to the server as ``pwocr serve``
runs it; every answer must be documented, match its schema, and never be a server error.
"""

import os
from collections import Counter

import pytest
from conftest import TINY_LABELS
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from live_server import png, running

from pwocr.serving.app import create_app
from pwocr.serving.settings import ServeSettings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e .[dev])")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: Generated requests per operation: enough to cross every option's bounds, small enough for CI.
EXAMPLES = int(os.environ.get("PWOCR_FUZZ_EXAMPLES", "40"))

SETTINGS = ServeSettings(max_body_bytes=1_000_000, max_pixels=4_000_000, threads=1, running=1, waiting=64)


#: Status codes the server answered during fuzzing, to show the fuzzer reached the model.
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def app(tiny_checkpoint):
    app = create_app(tiny_checkpoint, settings=SETTINGS)

    @app.middleware("http")
    async def tally(request, call_next):
        response = await call_next(request)
        STATUSES[response.status_code] += 1
        return response

    return app


@pytest.fixture(scope="module")
def base_url(app):
    with running(app, SETTINGS) as url:
        yield url


#: Real images the fuzzer may put in place of a generated body, so options meet the decoder too.
IMAGES = [png(label) for label in TINY_LABELS[:3]]


@pytest.fixture(scope="module")
def api_schema(app):
    schema = schemathesis.openapi.from_dict(app.openapi())

    @schema.hook
    def flatmap_body(context, body):
        """Half the bodies stay random bytes; the other half carry a real image (raw, or as the form's file)."""
        if isinstance(body, dict) and "file" in body:
            real = st.sampled_from(IMAGES).map(lambda image: {**body, "file": image})
        elif isinstance(body, (bytes, str)):
            real = st.sampled_from(IMAGES)
        else:
            return st.just(body)
        return st.one_of(st.just(body), real)

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gets_a_server_error(case, base_url):
    case.call_and_validate(
        base_url=base_url,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        timeout=30,
    )


def test_the_fuzzing_reached_the_model():
    """Runs after the fuzzing above: some generated requests were read (200), and none failed (5xx)."""
    if not STATUSES:
        pytest.skip("the fuzzing test did not run in this session")
    assert STATUSES[200] > 0, STATUSES
    assert not any(status >= 500 for status in STATUSES), STATUSES
    print(dict(sorted(STATUSES.items())))
