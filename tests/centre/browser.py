#!/usr/bin/python3
"""browser.py - a card holder's path through the issuer centre in a real
browser (headless Chromium driven by Selenium), against a running
ecard-server over HTTPS, a virtual card behind pcscd and `ecard agent`:

  sign up, order a card; staff issue it to the card (the agent's next
  contact personalizes it over the air); log in, top the card up from the
  bank account (the agent's next contact loads it, and the page sees the
  top-up end by itself); the card pays at a shop, the shop uploads the
  record; the card's page shows the load and the settled purchase.

A screenshot of each page goes to --shots. Exit status 0 when every check
held; the first failed check is printed and exits 1.

usage: browser.py --url URL --ca FILE --db URL --ecard PATH --server PATH
                  --reader NAME --issuer DIR --card-id ID --work DIR --shots DIR
"""
import argparse
import json
import os
import ssl
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from browser_run import WAIT, Failed, Run as Browser, check, main as run_main  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HOLDER = "ada@example.org"
STAFF = "staff@issuer.example"
PASSWORD = "correct horse battery"


class Run(Browser):
    def __init__(self, a):
        super().__init__(a.url, a.shots)
        self.a = a

    def server(self, *args):
        return self.program(self.a.server, *args, "--db", self.a.db)

    def agent(self):
        out = self.program(self.a.ecard, "--reader", self.a.reader, "agent", "--server",
                           self.a.url, "--ca", self.a.ca, "--retry", "30", "--json")
        return json.loads(out)

    def sign_up(self, email, name):
        self.go("/centre/signup")
        self.fill("#email", email)
        self.fill("#name", name)
        self.fill("#password", PASSWORD)
        self.click("#submit")
        self.at("/centre/cards")

    def log_in(self, email):
        self.go("/centre/login")
        self.fill("#email", email)
        self.fill("#password", PASSWORD)
        self.click("#submit")
        self.at("/centre/cards")

    def log_out(self):
        self.click("#logout")
        self.at("/centre/")


def main():
    p = argparse.ArgumentParser()
    for opt in ("url", "ca", "db", "ecard", "server", "reader", "issuer", "card-id", "work",
                "shots"):
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    r = Run(a)
    return run_main(r, lambda run: steps(run, a), "the issuer centre")


def steps(r, a):
    # A holder signs up; the name has markup, which must show as text.
    r.sign_up(HOLDER, "<i>Ada</i> Lovelace")
    check("<i>Ada</i> Lovelace" in r.text("nav"), "the name is shown as text")
    check(not r.d.find_elements(By.CSS_SELECTOR, "nav i"), "markup in a name is not markup")
    check(r.text("#bank") == "100.00 EUR", "the bank's welcome: %s" % r.text("#bank"))
    r.shot("signed-up")
    r.click("#order")
    r.at("/centre/cards")
    check("waiting" in r.text("#orders"), "the order waits")
    r.shot("card-ordered")
    r.log_out()
    r.shot("logged-out")

    # Staff give the order the new card: the agent's next contact issues it.
    r.sign_up(STAFF, "Issuer staff")
    r.server("holder", "staff", STAFF)
    r.go("/centre/staff")
    field = r.el("input[name=se_id]")
    field.send_keys(a.card_id)
    r.shot("staff-issues-the-order")
    r.d.find_element(By.CSS_SELECTOR, "#all-orders button").click()
    r.at("/centre/staff")
    check("issuing" in r.text("#all-orders"), "the order is being issued")
    r.log_out()
    summary = r.agent()
    check(summary.get("jobs_done") == 1, "the agent ran the personalize job: %s" % summary)

    # The holder finds the card issued, and tops it up from the bank.
    r.log_in(HOLDER)
    check("issued" in r.text("#orders"), "the order is filled")
    r.shot("card-issued")
    r.d.find_element(By.CSS_SELECTOR, "#cards a").click()
    r.el("#serial")
    serial = r.text("#serial")
    r.shot("card-page")
    r.fill("#amount", "20.00")
    r.click("#top-up")
    WebDriverWait(r.d, WAIT).until(
        lambda d: d.find_element(By.ID, "jobs").get_attribute("data-pending") == "1")
    r.shot("top-up-waits-for-the-card")
    summary = r.agent()
    check(summary.get("jobs_done") == 1, "the agent ran the top-up: %s" % summary)
    # The page's script sees the job end and shows the page anew.
    WebDriverWait(r.d, WAIT).until(
        lambda d: d.find_elements(By.ID, "balance") and
        d.find_element(By.ID, "balance").text == "20.00 EUR")
    check("credited 20.00 EUR" in r.text("#jobs"), "the top-up says what it did")
    r.shot("topped-up")
    r.go("/centre/cards")
    check(r.text("#bank") == "80.00 EUR", "the bank paid it: %s" % r.text("#bank"))

    # The card pays at a shop; the shop sends the issuer the record.
    shop = os.path.join(a.work, "shop.key")
    out = r.server("merchant", "add", "--issuer", a.issuer, "--name", "Corner <shop>", "--new",
                   shop, "--id", "53484F5000000001", "--json")
    token = json.loads(out)["token"]
    rd, wr = os.pipe()
    os.write(wr, b"1234\n")
    os.close(wr)
    record = r.program(a.ecard, "--reader", a.reader, "pay", "--merchant", shop, "--amount",
                       "2.50", "--pin-fd", str(rd), "--json", pass_fds=(rd,))
    os.close(rd)
    req = urllib.request.Request(a.url + "/api/settlement", data=record.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=a.ca),
                                timeout=WAIT) as resp:
        paid = json.load(resp)
    check(paid.get("paid") == 1 and paid.get("paid_minor") == 250, "settled: %s" % paid)

    # The history: the load, the purchase where it was made.
    r.go("/centre/cards/" + serial)
    check("20.00 EUR" in r.text("#loads"), "the load is listed")
    check("Corner <shop>" in r.text("#purchases") and "2.50 EUR" in r.text("#purchases"),
          "the purchase is listed: %s" % r.text("#purchases"))
    check(r.text("#settled") == "2.50 EUR", "settled: %s" % r.text("#settled"))
    r.shot("history")
    r.log_out()
    # Signed out, the card's page is not shown.
    r.go("/centre/cards/" + serial)
    r.at("/centre/login")
    r.shot("signed-out")


if __name__ == "__main__":
    sys.exit(main())
