"""The runs page: newest first, filtered by pipeline and status."""
from tests.serving.web.conftest import signed_in


def _listed(page) -> list:
    page.wait_for_selector("#runs tr")
    rows = page.locator("#runs tr[data-run-id]")
    return [rows.nth(i).get_attribute("data-run-id") for i in range(rows.count())]


def test_runs_are_listed_newest_first(page, web_app, shapes_runs):
    signed_in(page, web_app, "/")
    listed = _listed(page)
    assert listed.index(shapes_runs["failed"]["run_id"]) < listed.index(shapes_runs["ran"]["run_id"])


def test_runs_are_filtered_by_status(page, web_app, shapes_runs):
    signed_in(page, web_app, "/")
    page.wait_for_selector("#runs tr[data-run-id]")
    page.select_option("#filter-status", "failed")
    page.wait_for_url("**status=failed**")
    listed = _listed(page)
    assert shapes_runs["failed"]["run_id"] in listed and shapes_runs["ran"]["run_id"] not in listed


def test_runs_are_filtered_by_pipeline(page, web_app, shapes_runs):
    signed_in(page, web_app, "/?pipeline=gated")
    page.wait_for_selector("#runs tr")
    assert shapes_runs["ran"]["run_id"] not in _listed(page)


def test_a_run_links_to_its_page(page, web_app, shapes_runs):
    signed_in(page, web_app, "/")
    page.locator(f'#runs a:text("{shapes_runs["ran"]["run_id"]}")').click()
    page.wait_for_url(f"**/runs/{shapes_runs['ran']['run_id']}")
    page.wait_for_selector('#steps tr[data-step="make"]')
