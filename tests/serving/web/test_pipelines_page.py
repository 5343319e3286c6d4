"""The pipelines page: the served pipelines, their parameters, and a form that starts a run."""
from tests.serving.web.conftest import signed_in


def test_the_served_pipelines_are_shown_with_their_parameters(page, web_app):
    signed_in(page, web_app, "/pipelines")
    card = page.locator('section[data-pipeline="shapes"]')
    card.wait_for()
    assert card.locator("#shapes-param-n").input_value() == "3"
    assert card.locator("#shapes-param-fail").is_checked() is False
    page.locator('section[data-pipeline="gated"] #gated-param-gate').wait_for()


def test_the_form_starts_a_run_and_opens_its_page(page, web_app):
    signed_in(page, web_app, "/pipelines")
    page.locator("#shapes-param-n").fill("2")
    page.locator('#start-shapes button[type="submit"]').click()
    page.wait_for_url("**/runs/shapes-*")
    page.wait_for_selector("#run-status [data-state=completed]", timeout=60_000)
    run_id = page.url.rsplit("/", 1)[1]
    status, view = web_app.api("GET", f"/runs/{run_id}")
    assert status == 200 and view["params"]["n"] == 2 and view["trigger"]["kind"] == "http"


def test_a_refused_run_request_shows_its_sentence_in_the_form(page, web_app):
    signed_in(page, web_app, "/pipelines")
    page.locator("#gated-param-gate").wait_for()
    page.locator("#gated-param-gate").evaluate("field => { field.required = false; }")
    page.locator('#start-gated button[type="submit"]').click()
    page.locator('#start-gated [role="alert"]', has_text="gate").wait_for()
    assert "/pipelines" in page.url
