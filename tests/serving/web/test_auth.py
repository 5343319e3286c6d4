"""Pages need the function key: a sign-in sentence without it, a cookie from ?code= for what follows."""
from tests.serving.web.conftest import KEY, signed_in


def test_a_page_without_the_key_answers_401_saying_how_to_sign_in(page, web_app):
    response = page.goto(f"{web_app.url}/runs/some-run")
    assert response.status == 401
    assert "?code=KEY" in page.locator("#sign-in").inner_text()


def test_code_in_the_address_sets_an_httponly_samesite_strict_cookie(page, web_app):
    response = signed_in(page, web_app, "/")
    assert response.status == 200
    cookie = next(c for c in page.context.cookies() if c["name"] == "durapipe_key")
    assert cookie["value"] == KEY and cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"


def test_the_key_leaves_the_address_bar_once_the_cookie_holds_it(page, web_app):
    signed_in(page, web_app, "/")
    page.wait_for_selector("#runs")
    assert "code=" not in page.url


def test_later_pages_and_their_api_calls_work_with_the_cookie_alone(page, web_app):
    signed_in(page, web_app, "/")
    response = page.goto(f"{web_app.url}/pipelines")
    assert response.status == 200
    page.wait_for_selector('section[data-pipeline="shapes"]')  # filled in from GET /api/pipelines


def test_a_wrong_key_in_the_address_is_refused(page, web_app):
    response = page.goto(f"{web_app.url}/?code=not-the-key-0123456789")
    assert response.status == 401
    assert not [c for c in page.context.cookies() if c["name"] == "durapipe_key"]


def test_serve_prints_where_to_open_the_web_view(web_app):
    line = next(line for line in web_app.banner if line.startswith("web view: "))
    assert line.split()[2] == f"{web_app.url}/?code={KEY}"
