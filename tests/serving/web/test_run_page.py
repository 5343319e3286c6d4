"""The run page in a real Chromium: every step in its state, partitions, logs, and live updates."""
import io

from PIL import Image

from tests.serving.web.conftest import signed_in

# The fills the page's stylesheet gives a step box in each state (durapipe.css).
STATE_FILL = {"ran": (0xc8, 0xe6, 0xc9), "reused": (0xbb, 0xde, 0xfb), "failed": (0xff, 0xcd, 0xd2),
              "not_run": (0xff, 0xff, 0xff)}
LIVE_TIMEOUT_MS = 60_000


def _states(page) -> dict:
    page.wait_for_selector('#steps tr[data-step="publish"]')
    rows = page.locator("#steps tr[data-step]")
    return {rows.nth(i).get_attribute("data-step"): rows.nth(i).get_attribute("data-state") for i in range(rows.count())}


def test_a_finished_run_shows_every_step_as_ran(page, web_app, shapes_runs):
    signed_in(page, web_app, f"/runs/{shapes_runs['ran']['run_id']}")
    assert _states(page) == {"make": "ran", "square": "ran", "check": "ran", "publish": "ran"}


def test_a_failed_run_shows_reused_failed_and_not_run_steps(page, web_app, shapes_runs):
    signed_in(page, web_app, f"/runs/{shapes_runs['failed']['run_id']}")
    assert _states(page) == {"make": "reused", "square": "reused", "check": "failed", "publish": "not_run"}
    assert "the check was told to fail" in page.locator("#run-error").inner_text()


def test_a_mapped_step_lists_each_partition_with_its_state(page, web_app, shapes_runs):
    signed_in(page, web_app, f"/runs/{shapes_runs['ran']['run_id']}")
    page.wait_for_selector("#steps tr.partition")
    rows = page.locator("#steps tr.partition")
    assert [rows.nth(i).get_attribute("data-partition") for i in range(rows.count())] == ["p0.txt", "p1.txt", "p2.txt"]
    assert page.locator("#steps tr.partition [data-state=ran]").count() == 3


def test_a_partition_log_opens_on_the_page(page, web_app, shapes_runs):
    signed_in(page, web_app, f"/runs/{shapes_runs['ran']['run_id']}")
    page.locator('#steps tr.partition[data-partition="p1.txt"] button').click()
    page.locator("pre.log", has_text="squaring 2").wait_for()  # locators: the page's CSP forbids eval


def test_outputs_have_download_links_to_their_artifacts(page, web_app, shapes_runs):
    run = shapes_runs["ran"]
    signed_in(page, web_app, f"/runs/{run['run_id']}")
    link = page.locator(f'a[href$="/artifacts/{run["outputs"]["published"]["hash"]}"]')
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    assert open(download.value.path()).read() == "total 14\n"


def test_the_screenshot_shows_each_step_box_in_the_colour_of_its_state(page, web_app, shapes_runs, tmp_path):
    signed_in(page, web_app, f"/runs/{shapes_runs['failed']['run_id']}")
    page.wait_for_selector("#graph svg g.step.state-failed")
    shot = tmp_path / "run.png"
    page.screenshot(path=str(shot))
    picture = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    expected = {"make": "reused", "square": "reused", "check": "failed", "publish": "not_run"}
    for step, state in expected.items():
        box = page.locator(f'#graph g[id="step-{step}"]').bounding_box()
        assert box and box["width"] > 20 and box["height"] > 10, step
        inside = (int(box["x"] + 12), int(box["y"] + box["height"] / 2))  # inside the border, left of the label
        assert picture.getpixel(inside) == STATE_FILL[state], (step, state, inside)
        assert page.locator(f'#graph g[id="step-{step}"] text').first.text_content() == step


def test_a_running_run_turns_a_step_from_running_to_ran_without_a_reload(page, web_app, tmp_path):
    gate = tmp_path / "gate"
    run_id = web_app.start_run("gated", {"gate": str(gate)})
    signed_in(page, web_app, f"/runs/{run_id}")
    page.evaluate("window.sameDocument = true")
    page.wait_for_selector('#steps tr[data-step="wait_for_gate"][data-state="running"]', timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector('#graph g[id="step-wait_for_gate"].state-running', timeout=LIVE_TIMEOUT_MS)
    gate.write_text("open")
    page.wait_for_selector('#steps tr[data-step="wait_for_gate"][data-state="ran"]', timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector('#steps tr[data-step="after_gate"][data-state="ran"]', timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("#run-status [data-state=completed]", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.sameDocument") is True
