"""browser_run.py - what the browser tests share: headless Chromium
(Debian's chromium and chromium-driver) driven by Selenium, a screenshot
per step, waits bounded by WAIT seconds, and the programs a test runs
beside the browser. A failed check raises Failed.
"""
import os
import subprocess

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


class Run:
    def __init__(self, url, shots):
        self.url = url
        self.shots = shots
        self.shot_no = 0
        os.makedirs(shots, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--ignore-certificate-errors", "--window-size=1000,1000",
                    "--disable-gpu", "--no-first-run", "--disable-extensions"):
            opts.add_argument(arg)
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.d.set_page_load_timeout(WAIT)
        self.d.set_script_timeout(WAIT)

    def quit(self):
        self.d.quit()

    def shot(self, name):
        self.shot_no += 1
        path = os.path.join(self.shots, "%02d-%s.png" % (self.shot_no, name))
        self.d.save_screenshot(path)
        print("browser: screenshot %s" % path, flush=True)

    def go(self, path):
        self.d.get(self.url + path)

    def el(self, css):
        return WebDriverWait(self.d, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def text(self, css):
        return self.el(css).text

    def fill(self, css, value):
        e = self.el(css)
        e.clear()
        e.send_keys(value)

    def click(self, css):
        self.el(css).click()

    def at(self, path):
        WebDriverWait(self.d, WAIT).until(lambda d: d.current_url.endswith(path))

    def until(self, what, cond):
        try:
            WebDriverWait(self.d, WAIT).until(lambda d: cond())
        except Exception:
            raise Failed(what)

    def program(self, *args, stdin=None, pass_fds=()):
        r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120,
                           pass_fds=pass_fds)
        if r.returncode != 0:
            raise Failed("%s exited %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r.stdout


def main(run, steps, what):
    """Run steps(run); on a failure a last screenshot. The exit status."""
    from selenium.common.exceptions import TimeoutException
    try:
        steps(run)
    except (Failed, TimeoutException) as e:
        try:
            run.shot("failed")
        except Exception:
            pass
        print("browser: FAILED at %s: %s" % (run.d.current_url, e), flush=True)
        run.quit()
        return 1
    run.quit()
    print("browser: every check held (%s); %d screenshots in %s" % (what, run.shot_no, run.shots),
          flush=True)
    return 0
