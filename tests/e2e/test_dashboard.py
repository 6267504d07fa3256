"""The web dashboard in a real browser: Debian's Chromium, headless, driven by Selenium through the system's
chromedriver (nothing is downloaded), against the real binary.

The agent runs with a 1 s interval, API keys of each role, a tracked service without systemd (its actions answer
409 `no_systemd`), 29 days of seeded history of a filesystem growing linearly, and a standalone journald whose
unit the logs view follows. Every view is loaded and its console read: no error, no failed request. Screenshots of
each view go to $VIWORKS_DASHBOARD_SHOTS (default .build/dashboard-shots) for a person to look at.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import REPO_ROOT, raw_request, run_cli, start_agent, wait_for
from docker_fixture import IMAGE, port_is_free, private_docker  # noqa: F401 (fixture)
from journal import LiveJournal, unavailable

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported by the browser fixture
    webdriver = None

SHOTS = Path(os.environ.get("VIWORKS_DASHBOARD_SHOTS", REPO_ROOT / ".build/dashboard-shots"))
UNIT = "dashboard-test.service"
SEEDED_MOUNT = "/seeded"
# The seeded filesystem: 20 % at t0 (29 days ago, on the hour), +1.5 points a day, one sample at each half hour.
SEED_START = 20.0
SEED_PER_DAY = 1.5
VIEWS = ["overview", "history", "capacity", "incidents", "services", "sessions", "logs", "commands", "audit", "agent"]
OPERATOR_VIEWS = {"logs"}
ADMIN_VIEWS = {"commands", "audit"}
# Every wait in a page or on the agent (generous: a loaded machine runs Chromium and a debug build side by side).
DEADLINE = 60.0
# What a plugin puts in its version, a label value, a service message and its disable reason: must show as text.
MARKUP = '<img src=x onerror="window.__pwned=1">'
# A label value long enough that its series name is wider than a 1280 px window (History's series list).
LONG_LABEL = "/srv/" + "/".join(f"directory-{n:02d}" for n in range(16))
MARKUP_PLUGIN = f'''import json, sys, time
MARKUP = {MARKUP!r}
print(json.dumps({{"type": "hello", "protocol": 1, "version": MARKUP}}), flush=True)
while True:
    print(json.dumps({{"type": "metrics", "samples": [{{"name": "markup_value", "value": 1, "labels": {{"note": MARKUP, "path": {LONG_LABEL!r}}}}}]}}), flush=True)
    print(json.dumps({{"type": "service", "name": "markup-service", "state": "active", "message": MARKUP}}), flush=True)
    time.sleep(1)
'''
QUITTING_PLUGIN = f'''import json, sys
print(json.dumps({{"type": "hello", "protocol": 1}}), flush=True)
print(json.dumps({{"type": "disable", "reason": {MARKUP!r}}}), flush=True)
sys.stdin.read()
'''


def write_plugin(directory: Path, name: str, source: str, mode: str) -> None:
    """A Python plugin in `directory` (plugins.d) with its manifest (docs/plugin-protocol.md)."""
    script = directory / f"{name}.py"
    script.write_text(f"#!{shutil.which('python3') or '/usr/bin/python3'}\n{source}")
    script.chmod(0o755)
    # A stream plugin is restarted after three intervals of silence: 30 s, though these write every second.
    (directory / f"{name}.toml").write_text(f'name = "{name}"\ncommand = ["{script}"]\nmode = "{mode}"\ninterval = "10s"\ntimeout = "10s"\n')


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if webdriver is None:
        pytest.fail("selenium is not installed: make test-deps")
    if not (Path(browser).exists() and Path(driver).exists()):
        pytest.fail("Chromium and chromedriver are not installed: make deps (Debian's chromium and chromium-driver)")
    return browser, driver


def new_browser(width: int = 1280, height: int = 1000, dark: bool = False):
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    instance = webdriver.Chrome(service=Service(driver), options=options)
    if width < 500:
        # Headless Chromium's window is at least 500 px wide: a phone's viewport is emulated.
        instance.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    if dark:
        instance.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    instance.set_script_timeout(DEADLINE)
    return instance


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    chromium_paths()
    workdir = tmp_path_factory.mktemp("dashboard")
    keys = workdir / "api-keys"
    credentials = {}
    for role in ("viewer", "operator", "admin"):
        created = run_cli("keys", "create", "--role", role, "--name", f"e2e-{role}", "--file", str(keys))
        assert created.returncode == 0, created.stderr
        credentials[role] = created.stdout.strip()
    state = workdir / "state"
    state.mkdir()
    now = int(time.time())
    t0 = now // 3600 * 3600 - 29 * 86_400
    seeded = run_cli(
        "debug", "history-seed", "--path", str(state / "history.db"), "--name", "viworks_filesystem_usage_percent",
        "--label", f"mountpoint={SEEDED_MOUNT}", "--label", "device=seed", "--label", "fstype=ext4",
        "--from", str(t0), "--to", str(now - 60), "--step", "3600", "--offset", "1800", "--start", str(SEED_START), "--per-day", str(SEED_PER_DAY),
        timeout=120)
    assert seeded.returncode == 0 and seeded.stdout.startswith("seeded "), seeded.stderr
    no_journal = unavailable()
    journal = None if no_journal else LiveJournal(workdir / "journal", UNIT)
    config = workdir / "agent.toml"
    config.write_text("" if journal is None else f'[logs]\nunits = ["{UNIT}"]\njournal_directory = "{workdir / "journal"}"\n')
    plugins = workdir / "plugins.d"
    plugins.mkdir()
    write_plugin(plugins, "markup", MARKUP_PLUGIN, "stream")
    write_plugin(plugins, "quitting", QUITTING_PLUGIN, "stream")
    env = {
        "VIWORKS_AUTH_API_KEY_FILE": str(keys), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AGENT_INTERVAL": "1s",
        "VIWORKS_PLUGINS_DIRECTORY": str(plugins), "VIWORKS_HISTORY_FLUSH_INTERVAL": "1s",
    }
    agent = start_agent(workdir, "--config", str(config), env=env)
    agent.keys = keys
    agent.credentials = credentials
    agent.t0 = t0
    agent.journal = journal
    agent.no_journal = no_journal
    agent.base = f"http://127.0.0.1:{agent.port}"
    # The plugins' series are stored and the quitting one has disabled itself before any view is loaded.
    wait_for(lambda: any(item["name"] == "markup_value" for item in api(agent, "/api/v1/metrics")["series"]), timeout=DEADLINE, what="markup_value stored")
    wait_for(lambda: {p["name"]: p["status"] for p in api(agent, "/api/v1/plugins")["plugins"]}.get("quitting") == "disabled", timeout=DEADLINE, what="quitting disabled")
    agent.assets = re.search(r'/assets/([0-9a-f]{16})/app\.js', agent.get("/").body.decode()).group(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield agent
    finally:
        agent.stop()
        if journal:
            journal.close()


@pytest.fixture(scope="module")
def browser():
    instance = new_browser()
    yield instance
    instance.quit()


def api(agent, path: str, role: str = "admin"):
    response = agent.get(path, {"Authorization": f"Bearer {agent.credentials[role]}"})
    assert response.status == 200, f"GET {path}: {response.status} {response.body[:300]!r}"
    return response.json()


def sign_in(driver, agent, role: str | None) -> None:
    """The next page load starts with the credential in the tab's session storage (as after signing in), or none."""
    value = json.dumps(agent.credentials[role]) if role else "null"
    source = (f"try {{ if ({value} === null) sessionStorage.removeItem('viworks.credential');"
              f" else sessionStorage.setItem('viworks.credential', {value}); }} catch (e) {{}}")
    if getattr(driver, "credential_script", None):
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": driver.credential_script})
    driver.credential_script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})["identifier"]
    driver.get("about:blank")
    driver.get_log("browser")


def open_view(driver, agent, view: str, role: str | None = "admin", query: str = "") -> None:
    sign_in(driver, agent, role)
    driver.get(f"{agent.base}/#/{view}{query}")
    try:
        wait_in_page(driver, f"return document.querySelector('section[data-view=\"{view}\"]')?.dataset.ready || ''", lambda v: v in ("true", "error"), f"{view} view")
    except AssertionError as error:
        raise AssertionError(f"{error}; the page says: {driver.execute_script('return document.body.innerText')[:800]!r}; console: {driver.get_log('browser')}") from None


def wait_in_page(driver, script: str, predicate, what: str, timeout: float = DEADLINE):
    """Runs `script` in the page until `predicate` holds for what it returns, and returns that (conftest's wait_for)."""
    seen = {}

    def check() -> bool:
        seen["value"] = driver.execute_script(script)
        return bool(predicate(seen["value"]))

    try:
        wait_for(check, timeout=timeout, what=what, interval=0.1)
    except AssertionError:
        raise AssertionError(f"{what}: still {seen.get('value')!r} after {timeout} s") from None
    return seen["value"]


def problems(driver, allowed: list[str] = ()) -> list[str]:
    """Console errors (failed requests show as `Failed to load resource`) and resources that answered 4xx/5xx."""
    found = [f"{entry['level']}: {entry['message']}" for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    statuses = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => (e.responseStatus || 0) >= 400).map(e => e.responseStatus + ' ' + e.name)")
    found += [f"failed request: {item}" for item in statuses]
    return [item for item in found if not any(re.search(pattern, item) for pattern in allowed)]


def click(driver, selector: str):
    """Clicks the element (found again if a live update replaced it in between) and returns it."""
    for _ in range(5):
        try:
            element = driver.find_element(By.CSS_SELECTOR, selector)
            element.click()
            return element
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{selector} kept being replaced")


def overflow(driver) -> int:
    """How many pixels the page is wider than the window (a horizontal scrollbar when above 0)."""
    return driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")


def shoot(driver, name: str) -> Path:
    path = SHOTS / f"dashboard-{name}.png"
    driver.save_screenshot(str(path))
    return path


def test_every_view_loads_with_no_console_error_and_no_failed_request(dashboard, browser):
    documented = api(dashboard, "/api/v1/openapi.json")["paths"]
    for view in VIEWS:
        allowed = []
        if view == "sessions":
            # Sessions need a container engine; this suite runs none (tests of the containers module start their own
            # dockerd): the sessions route, where this agent has it, answers its documented 503, else there is none.
            allowed = [r"/api/v1/sessions.* (404|503)", r"(404|503) \S+/api/v1/sessions"]
            if "/api/v1/sessions" not in documented:
                allowed = [r"/api/v1/sessions.* 404", r"404 \S+/api/v1/sessions"]
        if view == "logs" and dashboard.no_journal:
            allowed = [r"/api/v1/logs.* 503", r"503 \S+/api/v1/logs"]
        open_view(browser, dashboard, view)
        time.sleep(0.5)
        assert browser.execute_script(f"return document.querySelector('section[data-view=\"{view}\"]').dataset.ready") == "true", view
        assert overflow(browser) <= 0, f"{view} is {overflow(browser)} px wider than 1280 px"
        shoot(browser, view)
        assert not problems(browser, allowed), f"{view}: {problems(browser, allowed)}"


def test_the_figures_shown_are_the_status_of_the_same_moment(dashboard, browser):
    open_view(browser, dashboard, "overview", role="viewer")
    deadline = time.monotonic() + DEADLINE
    while True:
        shown = browser.execute_script(
            "const v = id => document.querySelector(`#fig-${id} .value`)?.dataset.value;"
            "return {timestamp: document.getElementById('updated').dataset.timestamp, cpu: v('cpu'), memory: v('memory'), disk: v('disk')}")
        status = api(dashboard, "/api/v1/status", "viewer")
        again = browser.execute_script("return document.getElementById('updated').dataset.timestamp")
        if shown["timestamp"] == status["timestamp"] == again:
            break
        assert time.monotonic() < deadline, f"page {shown['timestamp']} never matched the API {status['timestamp']}"
        time.sleep(0.05)
    health = status["system_health"]
    assert float(shown["cpu"]) == health["cpu_usage_percent"]
    assert float(shown["memory"]) == health["memory_usage_percent"]
    assert float(shown["disk"]) == health["disk_usage_percent"]
    text = browser.find_element(By.CSS_SELECTOR, "#fig-cpu .value").text
    assert text == f"{health['cpu_usage_percent']:.1f} %"


def test_a_live_graph_gains_a_point_within_two_intervals(dashboard, browser):
    open_view(browser, dashboard, "overview")
    script = "return Number(document.querySelector('figure[data-chart=\"cpu\"]').dataset.points)"
    before = wait_in_page(browser, script, lambda n: n >= 1, "first CPU point")
    # Two 1 s intervals on an idle machine; the wait allows a loaded one.
    wait_in_page(browser, script, lambda n: n > before, "a new CPU point")
    shoot(browser, "overview-live")
    assert not problems(browser)


def test_a_30_day_range_renders_from_seeded_history(dashboard, browser):
    open_view(browser, dashboard, "history")
    key = next(option.get_attribute("value") for option in browser.find_elements(By.CSS_SELECTOR, "#series option") if SEEDED_MOUNT in option.get_attribute("value"))
    browser.get(f"{dashboard.base}/#/history?series={key}&range=30d")
    wait_in_page(browser, "return document.getElementById('plan')?.dataset.tier || ''", lambda tier: tier != "", "the 30-day plan")
    assert browser.execute_script("return document.getElementById('plan').dataset.tier") == "hour"
    points = browser.execute_script("return Number(document.querySelector('figure[data-chart=\"history\"]').dataset.points)")
    # 29 days of hourly samples in 2-hour buckets: 348 of them, give or take the buckets at the ends.
    assert 340 <= points <= 352, points
    minimum = float(browser.find_element(By.CSS_SELECTOR, "#summary-min .value").text)
    maximum = float(browser.find_element(By.CSS_SELECTOR, "#summary-max .value").text)
    assert minimum == pytest.approx(SEED_START + SEED_PER_DAY * 1800 / 86_400, abs=0.01)
    assert maximum > SEED_START + SEED_PER_DAY * 28.9
    shoot(browser, "history-30d")
    assert not problems(browser)


def test_the_capacity_projection_of_a_linear_growth_is_the_hand_computed_date(dashboard, browser):
    # 20 % + 1.5 points a day reaches 100 % after 80 / 1.5 = 53 1/3 days = 4 608 000 s after t0.
    expected = datetime.fromtimestamp(dashboard.t0 + 4_608_000, timezone.utc)
    report = api(dashboard, "/api/v1/capacity?window=30d", "viewer")
    seeded = next(r for r in report["resources"] if r["mountpoint"] == SEEDED_MOUNT)
    assert datetime.fromisoformat(seeded["projected_full_at"]) == expected
    assert seeded["slope_percent_per_day"] == pytest.approx(SEED_PER_DAY, abs=1e-6)
    open_view(browser, dashboard, "capacity", role="viewer")
    shown = browser.find_element(By.CSS_SELECTOR, f'.projected[data-resource="{SEEDED_MOUNT}"]')
    assert datetime.fromisoformat(shown.get_attribute("data-projected")) == expected
    assert shown.text != "not growing"
    shoot(browser, "capacity")
    assert not problems(browser)


def test_the_monthly_report_carries_the_same_capacity_projection(dashboard, browser):
    # The monthly report fits the 30 days ending at its end (now), which hold the whole seeded growth: the date of
    # GET /api/v1/capacity, t0 + 4 608 000 s.
    expected = datetime.fromtimestamp(dashboard.t0 + 4_608_000, timezone.utc)
    report = api(dashboard, "/api/v1/reports/monthly", "viewer")
    assert report["capacity"]["window"] == "30d"
    seeded = next(r for r in report["capacity"]["resources"] if r["mountpoint"] == SEEDED_MOUNT)
    assert datetime.fromisoformat(seeded["projected_full_at"]) == expected
    open_view(browser, dashboard, "incidents", role="viewer", query="?report=monthly")
    shown = wait_in_page(browser, f"return document.querySelector('.report-projected[data-resource=\"{SEEDED_MOUNT}\"]')?.dataset.projected || ''",
                         bool, "the report's projection")
    assert datetime.fromisoformat(shown) == expected
    shoot(browser, "report-monthly")
    assert not problems(browser)


def test_a_viewer_sees_no_action_and_a_forged_post_is_refused(dashboard, browser):
    open_view(browser, dashboard, "services", role="viewer")
    assert browser.find_elements(By.CSS_SELECTOR, "#service-list tbody tr"), "no service rows"
    assert browser.find_elements(By.CSS_SELECTOR, "button[data-action]") == []
    nav = [link.get_attribute("data-view") for link in browser.find_elements(By.CSS_SELECTOR, "#nav a")]
    assert "logs" not in nav and "commands" not in nav and "audit" not in nav and "overview" in nav
    assert browser.find_element(By.ID, "role").text == "viewer"
    open_view(browser, dashboard, "agent", role="viewer")
    assert browser.find_elements(By.CSS_SELECTOR, "#plugins button") == []
    # A request from the page's own origin without the credential (what a forged form or script would send).
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/services/nginx/restart', {method: 'POST', credentials: 'include'}).then(r => done(r.status), e => done(String(e)))")
    assert status == 401
    # And with the viewer's own credential: the server refuses the role, whatever the page shows.
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/services/nginx/restart', {method: 'POST', headers: {Authorization: 'Bearer ' + sessionStorage.getItem('viworks.credential')}})"
        ".then(r => done(r.status), e => done(String(e)))")
    assert status == 403


def test_an_operator_restart_shows_the_no_systemd_answer(dashboard, browser):
    open_view(browser, dashboard, "services", role="operator")
    service = browser.find_element(By.CSS_SELECTOR, 'button[data-action="restart"]').get_attribute("data-service")
    click(browser, f'button[data-action="restart"][data-service="{service}"]')
    dialog = browser.find_element(By.ID, "confirm")
    assert dialog.get_attribute("open") is not None
    assert browser.find_element(By.ID, "confirm-text").text == f"Restart {service}?"
    shoot(browser, "services-confirm")
    browser.find_element(By.ID, "confirm-ok").click()
    text = wait_in_page(browser, "return document.getElementById('action-result').textContent", lambda t: "failed" in t or "done" in t, "the action's result")
    assert f"restart {service} failed: 409 no_systemd:" in text, text
    shoot(browser, "services")
    # The 409 is the one failed request.
    assert not problems(browser, [r"restart.* 409", r"409 \S+/restart"])


def test_log_follow_shows_a_new_journal_line_and_markup_as_text(dashboard, browser):
    if dashboard.journal is None:
        pytest.skip(f"no standalone journald here ({dashboard.no_journal}); tests/systemd follows a real journal")
    open_view(browser, dashboard, "logs", role="operator", query=f"?unit={UNIT}&follow=true")
    wait_in_page(browser, "return document.getElementById('follow-state')?.dataset.following", lambda v: v == "true", "following")
    marker = f"marker-{time.time_ns()}"
    injected = f'<img src=x onerror="window.__injected=1"> {marker} <b>bold</b>'
    dashboard.journal.write(injected, priority=4)
    line = wait_in_page(browser, f"return [...document.querySelectorAll('#log div')].map(d => d.textContent).find(t => t.includes('{marker}')) || ''",
                    bool, "the new journal line")
    assert injected in line and "warning" in line
    assert browser.find_elements(By.CSS_SELECTOR, "#log img, #log b") == []
    assert browser.execute_script("return window.__injected === undefined")
    shoot(browser, "logs")
    assert not problems(browser)


def test_security_headers_gzip_and_cache_lifetimes(dashboard):
    page = raw_request(dashboard.port, "GET", "/", {"Accept-Encoding": "gzip"})
    assert page.status == 200
    policy = page.header("content-security-policy")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.header("x-content-type-options") == "nosniff" and page.header("referrer-policy") == "no-referrer"
    assert page.header("cache-control") == "no-cache" and page.header("content-encoding") == "gzip"
    html = gzip.decompress(page.body).decode()
    assert "<script>" not in html and "style=" not in html
    asset = raw_request(dashboard.port, "GET", f"/assets/{dashboard.assets}/app.js", {"Accept-Encoding": "gzip"})
    assert asset.header("cache-control") == "public, max-age=31536000, immutable"
    assert asset.header("content-encoding") == "gzip" and asset.header("content-security-policy") == policy
    etag = asset.header("etag")
    assert raw_request(dashboard.port, "GET", f"/assets/{dashboard.assets}/app.js", {"Accept-Encoding": "gzip", "If-None-Match": etag}).status == 304
    assert raw_request(dashboard.port, "GET", "/assets/0000000000000000/app.js").status == 404


def test_first_load_transfers_at_most_300_kb(dashboard):
    """What a browser with an empty cache downloads for the overview: the page and every file it loads, gzip-compressed,
    and the API answers of the first render."""
    instance = new_browser()
    try:
        open_view(instance, dashboard, "overview", role="viewer")
        time.sleep(1)
        sizes = instance.execute_script(
            "return [performance.getEntriesByType('navigation')[0].transferSize,"
            " ...performance.getEntriesByType('resource').filter(e => !e.name.includes('/api/v1/stream')).map(e => e.transferSize)]")
        total = sum(sizes)
        files = instance.execute_script("return performance.getEntriesByType('resource').filter(e => e.name.includes('/assets/')).map(e => [e.name.split('/').pop(), e.transferSize, e.decodedBodySize])")
    finally:
        instance.quit()
    print(f"first load: {total} bytes transferred in {len(sizes)} responses; files: {files}")
    assert 0 < total <= 300_000, (total, files)


def test_phone_width_dark_theme_and_keyboard(dashboard):
    instance = new_browser(390, 844, dark=True)
    try:
        open_view(instance, dashboard, "overview", role="operator")
        time.sleep(1.5)
        overflow = instance.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than a phone"
        background = instance.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)", background
        shoot(instance, "overview-phone-dark")
        # The keyboard: the first Tab reaches the skip link, which moves focus to the content.
        instance.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert instance.execute_script("return document.activeElement.className") == "skip"
        instance.switch_to.active_element.send_keys(Keys.ENTER)
        assert instance.execute_script("return document.activeElement.id") == "main"
        assert not problems(instance)
    finally:
        instance.quit()
    wide = new_browser(1280, 1000, dark=True)
    try:
        open_view(wide, dashboard, "overview", role="admin")
        time.sleep(1.5)
        shoot(wide, "overview-dark")
    finally:
        wide.quit()


def test_sign_in_with_an_api_key(dashboard, browser):
    sign_in(browser, dashboard, None)
    browser.get(f"{dashboard.base}/#/overview")
    field = WebDriverWait(browser, DEADLINE).until(lambda d: d.find_element(By.ID, "credential"))
    # Signed out, the header shows neither a role nor a Sign out button, nor the views.
    assert not browser.find_element(By.ID, "who").is_displayed() and not browser.find_element(By.ID, "nav").is_displayed()
    shoot(browser, "sign-in")
    field.send_keys(dashboard.credentials["operator"] + Keys.ENTER)
    wait_in_page(browser, "return document.getElementById('role')?.textContent", lambda role: role == "operator", "signed in")
    assert browser.execute_script("return sessionStorage.getItem('viworks.credential')") == dashboard.credentials["operator"]
    assert browser.get_cookies() == []


def test_no_view_is_wider_than_a_phone(dashboard):
    instance = new_browser(390, 844)
    try:
        for view in VIEWS:
            open_view(instance, dashboard, view)
            assert overflow(instance) <= 0, f"{view} is {overflow(instance)} px wider than a 390 px phone"
        # History's series list holds the plugin's series, whose name is far wider than the phone.
        open_view(instance, dashboard, "history")
        longest = instance.execute_script("return Math.max(...[...document.querySelectorAll('#series option')].map(o => o.textContent.length))")
        assert longest > len(LONG_LABEL)
        assert instance.execute_script("return window.innerWidth") == 390
        assert instance.execute_script("return document.getElementById('series').getBoundingClientRect().right") <= 390
        shoot(instance, "history-phone")
        assert not problems(instance)
    finally:
        instance.quit()


def test_markup_from_a_plugin_is_shown_as_text(dashboard, browser):
    open_view(browser, dashboard, "agent", role="operator")
    version = browser.execute_script(
        "return document.querySelector('[data-plugin=\"markup\"]').closest('tr').cells[1].textContent")
    assert version == MARKUP
    reason = browser.execute_script("return document.querySelector('[data-plugin=\"quitting\"]').closest('tr').querySelector('.plugin-status').textContent")
    assert reason == f"disabled disabled at its own request: {MARKUP}"
    services = browser.execute_script("return [...document.querySelectorAll('#plugin-services tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))")
    assert [row[:4] for row in services] == [["markup", "markup-service", "active", MARKUP]]
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
    shoot(browser, "agent")
    # History: the series list and the chart's title carry the label value as text.
    open_view(browser, dashboard, "history")
    options = browser.execute_script("return [...document.querySelectorAll('#series option')].map(o => [o.value, o.textContent])")
    key = next(value for value, text in options if value.startswith("markup_value{"))
    assert key == f"markup_value{{note={MARKUP},path={LONG_LABEL},plugin=markup}}"
    assert dict(options)[key] == key
    browser.get(f"{dashboard.base}/#/history?series={urllib.parse.quote(key)}&range=1h")
    title = wait_in_page(browser, "return document.querySelector('figure[data-chart=\"history\"] figcaption')?.textContent || ''",
                         lambda text: text.startswith("markup_value"), "the markup series' chart")
    assert title == key
    assert browser.execute_script("return document.getElementById('series').value") == key
    assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
    assert overflow(browser) <= 0
    assert browser.execute_script("return window.__pwned === undefined")
    assert not problems(browser)


@pytest.fixture(scope="module")
def session_agent(dashboard, private_docker, tmp_path_factory):
    """An agent with the private dockerd's engine, one template (`web`, busybox httpd) and the audit log enabled."""
    workdir = tmp_path_factory.mktemp("dashboard-sessions")
    low = next(port for port in range(31000, 39000, 20) if all(port_is_free(p) for p in range(port, port + 10)))
    agent_id = f"dashboard-{os.getpid()}"
    config = workdir / "agent.toml"
    config.write_text(f"""
[commands]
enabled = true

[containers]
enabled = true
socket = "{private_docker.socket}"
port_range = "{low}-{low + 9}"
publish_address = "127.0.0.1"
agent_id = "{agent_id}"
stop_grace_period = "2s"

[containers.templates.web]
image = "{IMAGE}:latest"
port = 8080
memory = "64MiB"
cpu_shares = 256
pids_limit = 64
""")
    env = {"VIWORKS_AUTH_API_KEY_FILE": str(dashboard.keys), "VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AGENT_INTERVAL": "1s",
           "VIWORKS_PLUGINS_DIRECTORY": str(workdir)}
    agent = start_agent(workdir, "--config", str(config), env=env)
    agent.credentials = dashboard.credentials
    agent.base = f"http://127.0.0.1:{agent.port}"
    agent.docker = private_docker
    try:
        wait_for(lambda: api(agent, "/api/v1/sessions")["engine"]["status"] == "available", timeout=DEADLINE, what="engine available")
        yield agent
    finally:
        agent.stop()
        for container in private_docker.containers(f"io.viworks.agent={agent_id}"):
            private_docker.api("DELETE", f"/containers/{container['Id']}?force=1")


def human_bytes(value: int) -> str:
    """As the page writes a size: powers of 1024, one decimal above bytes."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    number, unit = float(value), 0
    while abs(number) >= 1024 and unit < len(units) - 1:
        number, unit = number / 1024, unit + 1
    return f"{number:.{0 if unit == 0 else 1}f} {units[unit]}"


def session_rows(driver) -> dict[str, dict[str, str]]:
    """The Sessions view's table by session id: column name to the text shown."""
    return driver.execute_script(
        "const names = [...document.querySelectorAll('#session-list thead th')].map(th => th.textContent);"
        "return Object.fromEntries([...document.querySelectorAll('#session-list tbody tr')].map(tr =>"
        " [tr.querySelector('code[data-session]').dataset.session, Object.fromEntries([...tr.cells].map((td, i) => [names[i], td.textContent]))]))")


def assert_list_matches_api(driver, agent) -> list[dict]:
    sessions = api(agent, "/api/v1/sessions", "operator")["sessions"]
    shown = session_rows(driver)
    assert set(shown) == {session["session_id"] for session in sessions}
    for session in sessions:
        row = shown[session["session_id"]]
        assert row["Session"] == session["session_id"][:12]
        assert (row["User"], row["Template"], row["Status"]) == (session["username"], session["template"], session["status"])
        assert row["Port"] == ("—" if session["port"] is None else str(session["port"]))
        assert row["Memory limit"] == "64.0 MiB" and row["CPU shares"] == "256"
    return sessions


def act_on_session(driver, action: str, session_id: str, expected: str, confirm: str | None = None) -> None:
    click(driver, f'button[data-action="{action}"][data-session="{session_id}"]')
    if confirm is not None:
        assert driver.find_element(By.ID, "confirm").get_attribute("open") is not None
        assert driver.find_element(By.ID, "confirm-text").text.startswith(confirm)
        driver.find_element(By.ID, "confirm-ok").click()
    text = wait_in_page(driver, "return document.getElementById('action-result').textContent", lambda t: "failed" in t or t.startswith(f"{action} {session_id}:"),
                        f"the answer to {action}")
    assert text.startswith(f"{action} {session_id}: {expected}"), text


def test_an_operator_creates_stops_starts_and_deletes_a_session(session_agent, browser):
    agent = session_agent
    # A fresh agent has no audit record and no anchor file yet: its chain verifies, 0 records.
    open_view(browser, agent, "audit")
    verification = browser.find_element(By.ID, "verification")
    assert (verification.get_attribute("data-verdict"), verification.get_attribute("data-records")) == ("intact", "0"), verification.text
    assert verification.text == "Hash chain intact 0 records checked"

    open_view(browser, agent, "sessions", role="operator")
    assert browser.find_element(By.CSS_SELECTOR, "#session-list").text.startswith("No sessions.")
    browser.find_element(By.ID, "session-username").send_keys("alice")
    browser.find_element(By.ID, "session-template").send_keys("web")
    click(browser, '#create-session button[type="submit"]')
    text = wait_in_page(browser, "return document.getElementById('action-result').textContent", lambda t: "failed" in t or ": running" in t, "the created session")
    [session] = assert_list_matches_api(browser, agent)
    session_id, port = session["session_id"], session["port"]
    assert text == f"create a session for alice: running, port {port}"
    assert (session["username"], session["status"]) == ("alice", "running") and port is not None

    # Resource use: the container's CPU and memory of the status the page last received, equal to the API's.
    deadline = time.monotonic() + DEADLINE
    while True:
        shown = browser.execute_script(
            "const row = document.querySelector(`code[data-session='${arguments[0]}']`).closest('tr');"
            "return {timestamp: document.getElementById('session-list').dataset.timestamp,"
            " cpu: row.querySelector('.cpu').dataset.value, memory: row.querySelector('.memory').dataset.value, text: row.querySelector('.memory').textContent}",
            session_id)
        status = api(agent, "/api/v1/status", "viewer")
        container = next((c for c in status.get("containers") or [] if c.get("session_id") == session_id), None)
        # The section can change between collections (a session change refreshes it): the same figures, not only the
        # same timestamp, once both are measured (CPU needs two samples).
        if (shown["timestamp"] == status["timestamp"] and container and container["memory_bytes"] is not None and container["cpu_percent"] is not None
                and shown["memory"] == str(container["memory_bytes"]) and shown["cpu"] != "" and float(shown["cpu"]) == container["cpu_percent"]):
            break
        assert time.monotonic() < deadline, f"the page's usage {shown} never matched the status of {status['timestamp']}: {container}"
        time.sleep(0.1)
    assert int(shown["memory"]) == container["memory_bytes"] and 0 < container["memory_bytes"] <= 64 << 20
    assert shown["text"] == human_bytes(container["memory_bytes"])
    assert 0 <= container["cpu_percent"] <= 100 * os.cpu_count()
    shoot(browser, "sessions")

    act_on_session(browser, "stop", session_id, "stopped", confirm=f"Stop session {session_id} of alice?")
    assert [s["status"] for s in assert_list_matches_api(browser, agent)] == ["stopped"]
    assert agent.docker.inspect(session["container_id"])["State"]["Running"] is False

    act_on_session(browser, "start", session_id, f"running, port {port}")
    assert [(s["status"], s["port"]) for s in assert_list_matches_api(browser, agent)] == [("running", port)]

    act_on_session(browser, "delete", session_id, "removed", confirm=f"Delete session {session_id} of alice?")
    assert [(s["status"], s["port"]) for s in assert_list_matches_api(browser, agent)] == [("removed", None)]
    assert agent.docker.inspect(session["container_id"]) is None
    assert browser.find_elements(By.CSS_SELECTOR, f'button[data-session="{session_id}"]') == []
    assert not problems(browser)

    # Each of the four changes wrote a start and an end record; the chain verifies with them.
    audit = api(agent, "/api/v1/audit?limit=100&verify=true")
    actions = sorted(record["event"] for record in audit["records"])
    assert actions == ["session.end"] * 4 + ["session.start"] * 4, actions
    open_view(browser, agent, "audit")
    verification = browser.find_element(By.ID, "verification")
    assert (verification.get_attribute("data-verdict"), verification.get_attribute("data-records")) == ("intact", "8"), verification.text
    shoot(browser, "audit")
    assert not problems(browser)


def test_on_loopback_without_credentials_the_page_opens_as_viewer(tmp_path):
    agent = start_agent(tmp_path, env={"VIWORKS_SERVICES_SYSTEMD": "off", "VIWORKS_AGENT_INTERVAL": "1s", "VIWORKS_PLUGINS_DIRECTORY": str(tmp_path)})
    instance = new_browser()
    try:
        instance.get(f"http://127.0.0.1:{agent.port}/#/overview")
        wait_in_page(instance, "return document.querySelector('section[data-view=\"overview\"]')?.dataset.ready || ''", lambda v: v == "true", "overview")
        assert instance.find_element(By.ID, "role").text == "viewer"
        assert instance.find_element(By.ID, "principal").text == "anonymous"
        assert instance.find_elements(By.ID, "credential") == []
        assert not problems(instance)
    finally:
        instance.quit()
        agent.stop()
