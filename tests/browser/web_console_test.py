"""The web console in a real browser (Debian's chromium through chromium-driver, driven by
selenium from PyPI) against a real `console all-in-one` on loopback.

It signs in (a sensor key is refused), reads the overview and the cluster (which refreshes
itself), pages and searches 100,000 seeded nodes, opens a busy host, queues a scan from the
host's page and sees the sensor receive it on its next control poll and the scan on the scans
page, opens a node whose names are hostile markup and checks it renders inert (no dialog, no
request to the address the markup names), checks that a POST without the CSRF token is refused,
creates and revokes a key, and signs out. Every page's screenshot goes to the folder it prints.
It also prints each page's server time (p50/p95 of 20 requests) and the browser's load time
(Navigation Timing): docs/benchmarks.md records them. Those are figures, not pass/fail checks.

usage: web_console_test.py path/to/console screenshot-folder
"""

import http.server
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

SEEDED = 100_000
UNVERIFIED = ssl._create_unverified_context()


class Hits(http.server.BaseHTTPRequestHandler):
    """Counts every request: hostile markup that runs would fetch from here."""
    seen = []

    def do_GET(self):
        Hits.seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(url, method="GET", body=None, headers=None, cookie=None):
    request = urllib.request.Request(url, method=method, data=body, headers=dict(headers or {}))
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, context=UNVERIFIED, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


def busy_host_report(node_id):
    containers = {f"{node_id}-c{index:02d}": f"c{index:02d}" for index in range(8)}
    host = {node_id: {"metadata": {
        "node_id": node_id, "node_type": "host", "node_name": node_id, "host_name": node_id, "os": "linux",
        "kernel_version": "6.1.0-13-amd64", "version": "v2.5.0", "public_ip": ["203.0.113.7"], "private_ip": ["10.0.0.7"]}}}
    container_section = {cid: {"metadata": {
        "node_id": cid, "node_type": "container", "node_name": f"{short} / {node_id}", "host_name": node_id,
        "docker_container_name": f"app-{short}", "docker_container_state": "running", "docker_image_id": "sha256:" + "ab" * 32},
        "parents": {"host": node_id}} for cid, short in containers.items()}
    processes = {}
    for pid in range(1, 161):
        parents = {"host": node_id}
        if pid > 40:
            parents["container"] = list(containers.values())[pid % 8]
        processes[f"{node_id};{pid}"] = {"metadata": {
            "node_id": f"{node_id};{pid}", "node_type": "process", "node_name": f"/usr/bin/worker-{pid}", "host_name": node_id,
            "pid": pid, "ppid": 1, "cmdline": f"/usr/bin/worker-{pid} --serve --port {8000 + pid}", "threads": 4}, "parents": parents}
    endpoints = {}
    for index in range(2500):
        local = f"{node_id};10.0.0.7;{20000 + index}"
        peer = f"{node_id};10.1.{index % 40}.{index % 7 + 1};{[443, 5432, 6379][index % 3]}"
        endpoints[local] = {"metadata": {"node_id": local, "host_name": node_id, "pid": index % 160 + 1}, "adjacency": [peer]}
    return {"ID": f"report-{node_id}-{time.time_ns()}", "Host": host, "Container": container_section,
            "Process": processes, "Endpoint": endpoints}


def hostile_report(node_id, hit):
    return {"ID": f"report-hostile-{time.time_ns()}", "Host": {node_id: {"metadata": {
        "node_id": node_id, "node_type": "host", "host_name": node_id, "os": f"<iframe src=\"{hit}/os\"></iframe>",
        "kernel_version": "\"><img src=x onerror=alert('kernel')>"}}},
        "Container": {f"{node_id}-evil": {"metadata": {
            "node_id": f"{node_id}-evil", "node_type": "container", "host_name": node_id,
            "docker_container_name": "javascript:alert('container')", "docker_container_state": "' onmouseover='alert(4)",
            "docker_image_id": f"<img src=\"{hit}/image\">"}, "parents": {"host": node_id}}},
        "Process": {f"{node_id};66": {"metadata": {
            "node_id": f"{node_id};66", "node_type": "process", "host_name": node_id, "pid": 66,
            "node_name": "<script>alert('process')</script>",
            "cmdline": f"<img src=\"{hit}/cmdline\" onerror=\"alert('cmdline')\"><a href=\"javascript:alert(5)\">x</a>"},
            "parents": {"host": node_id, "container": "evil"}}}}


def main():
    binary, shots = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    work = tempfile.mkdtemp(prefix="console-browser-")
    os.chmod(work, 0o755)
    log = open(os.path.join(work, "console.log"), "w")
    # The console picks a free port (--port 0) and names it in its banner: no race for one.
    console = subprocess.Popen([binary, "all-in-one", "--port", "0", "--data-dir", os.path.join(work, "data"),
                                "--advertise-host", "localhost"], stdout=log, stderr=subprocess.STDOUT)
    hits_server = http.server.HTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=hits_server.serve_forever, daemon=True).start()
    hit = f"http://127.0.0.1:{hits_server.server_address[1]}"
    driver = None
    try:
        for _ in range(120):
            if "is ready" in open(os.path.join(work, "console.log")).read():
                break
            time.sleep(1)
        else:
            raise AssertionError("the console did not start:\n" + open(os.path.join(work, "console.log")).read())
        banner = open(os.path.join(work, "console.log")).read()
        port = int(banner.split("Console URL:", 1)[1].split()[0].rsplit(":", 1)[1])
        base = f"https://localhost:{port}"
        keys = dict(line.split("=", 1) for line in open(os.path.join(work, "data", "credentials.env")).read().splitlines()
                    if "=" in line and not line.startswith("#"))
        sensor_key, admin_key = keys["DEEPFENCE_KEY"], keys["CONSOLE_ADMIN_KEY"]
        status, body = call(f"{base}/deepfence/auth/token", "POST", json.dumps({"api_token": sensor_key}).encode())
        sensor = json.loads(body)["access_token"]
        bearer = {"Authorization": f"Bearer {sensor}", "Content-Type": "application/json"}

        print("seeding: a busy host, a hostile node, 100,000 nodes", flush=True)
        busy, hostile = "busy-host", "\"><script>alert('node')</script><img src=x onerror=alert(1)>"
        for report in (busy_host_report(busy), hostile_report(hostile, hit)):
            status, body = call(f"{base}/deepfence/ingest/report", "POST", json.dumps(report).encode(), bearer)
            check(status == 200, f"report of {report['ID'][:30]} accepted ({status} {body[:200]!r})")
        socket_dir = os.path.join(work, "data", "postgres-run")
        subprocess.run(["psql", "-h", socket_dir, "-U", "console", "-d", "console", "-v", "ON_ERROR_STOP=1", "-q", "-c", f"""
            INSERT INTO nodes (node_id, shard, kind, first_seen, last_seen, online, offline_since, beat_rate)
            SELECT 'seed-' || lpad(i::text, 6, '0'), i % 4096, CASE WHEN i % 50 = 0 THEN 'kubernetes_cluster' ELSE 'host' END,
                   now() - interval '2 days' + i * interval '1 second', now() - (i % 600) * interval '1 second',
                   i % 10 <> 0, CASE WHEN i % 10 = 0 THEN now() - (i % 3600) * interval '1 second' END, 30
            FROM generate_series(1, {SEEDED}) AS i;
            ANALYZE nodes;"""], check=True)

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                         "--window-size=1400,1100", "--disable-gpu"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
        driver.set_page_load_timeout(30)
        wait = WebDriverWait(driver, 20)

        def left_document(element):
            """Whether `element` belongs to a document the browser has left. Asked while the next
            page replaces it, chromedriver answers either "stale element reference" or "Node with
            given id does not belong to the document"; both mean the old page is gone."""
            def check(_):
                try:
                    element.is_enabled()
                    return False
                except StaleElementReferenceException:
                    return True
                except WebDriverException as error:
                    if "does not belong to the document" in str(error):
                        return True
                    raise
            return check

        def click_and_load(element):
            """Clicks a link or a submit button and waits for the page it loads."""
            old = driver.find_element(By.TAG_NAME, "html")
            element.click()
            wait.until(left_document(old))
            wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

        def shot(name):
            driver.save_screenshot(os.path.join(shots, f"{name}.png"))

        def load_ms():
            return driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;")

        def no_dialog(where):
            try:
                text = driver.switch_to.alert.text
                raise AssertionError(f"a dialog opened on {where}: {text!r}")
            except NoAlertPresentException:
                print(f"  ok: no dialog on {where}", flush=True)

        def sign_in(key):
            driver.get(f"{base}/console/sign-in")
            driver.find_element(By.ID, "key").send_keys(key)
            click_and_load(driver.find_element(By.ID, "sign-in"))

        print("sign-in", flush=True)
        driver.get(f"{base}/console/")
        check(driver.current_url.endswith("/console/sign-in"), "a signed-out browser is sent to the sign-in page")
        sign_in(sensor_key)
        check("sensor key" in driver.find_element(By.ID, "problem").text, "a sensor key cannot sign in")
        check(not driver.get_cookie("__Host-console_session"), "and gets no session")
        shot("sign-in-refused")
        sign_in(admin_key)
        wait.until(lambda d: d.current_url.endswith("/console/"))
        cookie = driver.get_cookie("__Host-console_session")
        check(cookie and cookie["httpOnly"] and cookie["secure"] and cookie.get("sameSite") == "Strict",
              "an admin key signs in: the session cookie is HttpOnly, Secure, SameSite=Strict")
        total = int(driver.find_element(By.ID, "node-total").text.replace("\u2009", ""))
        check(total == SEEDED + 2, f"the overview counts every node ({total})")
        shot("overview")

        print("cluster", flush=True)
        driver.get(f"{base}/console/cluster")
        check("Healthy" in driver.find_element(By.ID, "health").text, "the cluster is healthy")
        check(driver.find_element(By.ID, "leader").text != "none", "a leader is named")
        wait.until(lambda d: d.find_element(By.ID, "main").get_attribute("data-refreshed"))
        check(driver.find_element(By.ID, "members").is_displayed(), "the cluster page refreshed itself without a reload")
        shot("cluster")

        print("nodes", flush=True)
        driver.get(f"{base}/console/nodes")
        nodes_load = load_ms()
        rows = driver.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")
        check(len(rows) == 100, "a page holds 100 nodes")
        first_page = rows[0].text
        click_and_load(driver.find_element(By.ID, "next-page"))
        check(driver.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")[0].text != first_page, "the next page holds other nodes")
        for _ in range(3):
            click_and_load(driver.find_element(By.ID, "next-page"))
        Select(driver.find_element(By.NAME, "status")).select_by_value("offline")
        driver.find_element(By.ID, "search").clear()
        driver.find_element(By.ID, "search").send_keys("seed-0999")
        click_and_load(driver.find_element(By.ID, "filter"))
        ids = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "#nodes .node-link")]
        check(ids == [f"seed-0999{i}0" for i in range(10)], f"search by ID prefix with the offline filter finds exactly those ({len(ids)})")
        shot("nodes")

        print("a busy host", flush=True)
        driver.get(f"{base}/console/node?id={busy}")
        busy_load = load_ms()
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.processes tbody tr")) == 160, "its 160 processes are shown")
        check(len(driver.find_elements(By.CSS_SELECTOR, "details.container")) == 9, "under its 8 containers and the host")
        peers = driver.find_elements(By.CSS_SELECTOR, "#connections tbody tr")
        check(len(peers) == 200, "its 2,500 connections are grouped by peer (the 200 busiest shown)")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#change-log tbody tr")) >= 1, "its change log is shown")
        shot("busy-host")
        Select(driver.find_element(By.ID, "scan-kind")).select_by_value("vulnerability")
        click_and_load(driver.find_element(By.ID, "queue-scan"))
        queued = wait.until(lambda d: d.find_element(By.ID, "queued")).text
        scan_id = queued.split("vulnerability scan ", 1)[1].split(".", 1)[0].strip()
        check(scan_id.startswith(busy), f"a scan is queued from the page ({scan_id})")
        status, body = call(f"{base}/deepfence/controls/agent", "POST",
                            json.dumps({"node_id": busy, "available_workload": 5}).encode(), bearer)
        commands = json.loads(body)["commands"]
        check(status == 200 and any(scan_id in command["request_payload"] for command in commands),
              "the sensor receives it on its next control poll")
        driver.get(f"{base}/console/scans?node={urllib.parse.quote(busy)}")
        check(scan_id in driver.find_element(By.CSS_SELECTOR, "table.scans").text, "the scan is on the scans page")
        shot("scans")
        click_and_load(driver.find_element(By.LINK_TEXT, scan_id))
        check(driver.find_element(By.ID, "scan-status").text in ("QUEUED", "STARTING"), "the scan's page shows its status")
        shot("scan")

        print("hostile names", flush=True)
        driver.get(f"{base}/console/node?id={urllib.parse.quote(hostile)}")
        no_dialog("the hostile node's page")
        shot("hostile-node")
        check(driver.find_element(By.CSS_SELECTOR, "h1.node-title").text == hostile, "its ID is shown as text")
        shown = driver.find_element(By.ID, "main").get_attribute("textContent")
        for markup in ("<script>alert('process')</script>", "javascript:alert('container')", f"<iframe src=\"{hit}/os\"></iframe>"):
            check(markup in shown, f"{markup} is shown as text")
        check(not driver.find_elements(By.CSS_SELECTOR, "#main img, #main iframe, #main script"),
              "no element was made from a sensor's strings")
        hrefs = [a.get_attribute("href") or "" for a in driver.find_elements(By.TAG_NAME, "a")]
        check(all(href.startswith(base) for href in hrefs), "every link stays on the console")
        driver.get(f"{base}/console/nodes?q={urllib.parse.quote(hostile[:5])}")
        no_dialog("the node list")
        driver.get(f"{base}/console/")
        no_dialog("the overview")
        time.sleep(1)
        check(Hits.seen == [], f"no request reached the address the markup names ({Hits.seen})")

        print("CSRF", flush=True)
        session_cookie = f"__Host-console_session={driver.get_cookie('__Host-console_session')['value']}"
        status, _ = call(f"{base}/console/keys/create", "POST", b"role=admin&label=forged", cookie=session_cookie,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 403, f"a POST without the CSRF token is refused ({status})")
        status, _ = call(f"{base}/console/keys/create", "POST", b"role=admin&label=forged&csrf=guess", cookie=session_cookie,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 403, f"and one with a wrong token ({status})")

        print("API keys", flush=True)
        driver.get(f"{base}/console/keys")
        check("forged" not in driver.find_element(By.ID, "keys").text, "the refused forms created nothing")
        driver.find_element(By.ID, "key-label").send_keys("browser test <b>label</b>")
        click_and_load(driver.find_element(By.ID, "create-key"))
        new_key = driver.find_element(By.ID, "new-key").text
        status, _ = call(f"{base}/deepfence/auth/token", "POST", json.dumps({"api_token": new_key}).encode())
        check(status == 200, "a key created on the page is shown once and logs in")
        shot("keys-created")
        driver.get(f"{base}/console/keys")
        check(new_key not in driver.page_source, "the key is not shown again")
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#keys tbody tr") if "browser test <b>label</b>" in r.text][0]
        click_and_load(row.find_element(By.CSS_SELECTOR, "button.danger"))
        revoked = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "#keys tbody tr") if "browser test" in r.text and "revoked" in r.text])
        check(len(revoked) == 1, "the key is revoked from the page")
        status, _ = call(f"{base}/deepfence/auth/token", "POST", json.dumps({"api_token": new_key}).encode())
        check(status == 401, f"and logs in no more ({status})")
        shot("keys-revoked")

        print("timings", flush=True)
        pages = {"overview": "/console/", "cluster": "/console/cluster", "nodes": "/console/nodes",
                 "nodes, page 500": "/console/nodes?after=seed-050000", "nodes, search": "/console/nodes?q=seed-0777",
                 "busy host": f"/console/node?id={busy}", "scans": "/console/scans", "keys": "/console/keys"}
        for name, path in pages.items():
            times = []
            for _ in range(20):
                started = time.perf_counter()
                status, _ = call(base + path, cookie=session_cookie)
                times.append((time.perf_counter() - started) * 1000)
                check_status = status == 200
            times.sort()
            print(f"  server {name:16s} p50 {statistics.median(times):6.1f} ms  p95 {times[18]:6.1f} ms"
                  f"{'' if check_status else '  (status ' + str(status) + ')'}", flush=True)
        print(f"  browser load event: nodes {nodes_load:.0f} ms, busy host {busy_load:.0f} ms", flush=True)

        print("sign-out", flush=True)
        click_and_load(driver.find_element(By.ID, "sign-out"))
        check(driver.current_url.endswith("/console/sign-in"), "signing out returns to the sign-in page")
        check(not driver.get_cookie("__Host-console_session"), "and ends the session")
        driver.get(f"{base}/console/nodes")
        check(driver.current_url.endswith("/console/sign-in"), "and the pages need a sign-in again")
        _, page = call(base + "/console/nodes", cookie=session_cookie)
        check(b'action="/console/sign-in"' in page and b"Nodes" not in page,
              "and a copy of the cookie taken before the sign-out signs nothing in")
        shot("signed-out")
        print(f"web console: every check passed; screenshots in {shots}", flush=True)
    finally:
        if driver:
            driver.quit()
        console.terminate()
        console.wait(timeout=30)
        hits_server.shutdown()
        if "crashed:" in open(os.path.join(work, "console.log")).read():
            print(open(os.path.join(work, "console.log")).read(), file=sys.stderr)
            raise AssertionError("the console crashed")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
