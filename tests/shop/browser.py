#!/usr/bin/python3
"""browser.py - a customer's path through the shop in a real browser
(headless Chromium driven by Selenium), against ecard-shop over HTTPS, the
holder's `ecard agent --listen` with a scripted pinentry, a virtual card
behind pcscd, and ecard-server as the issuer:

  browse the catalogue, search (markup typed into the box stays text),
  put a product in the basket, sign up (the basket follows), fill the
  delivery address from the card, pay with the PIN (a wrong one first),
  see the order paid and the card charged once; log out and in again;
  pay a second order while the card is pulled out of the reader and put
  back: charged once again; the link between the agent and the shop cut
  at each message of a payment, both ways: paid, and charged once, each
  time;
  a page of another site cannot use the agent, and the shop's own page
  cannot point it at another server; staff add a product whose name has
  markup; the shop settles its records with the issuer by itself.

A screenshot of each step goes to --shots. Exit status 0 when every check
held; the first failed check is printed and exits 1.
"""
import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from browser_run import WAIT, Failed, Run as Browser, check, main as run_main  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

EMAIL = "ada@example.org"
PASSWORD = "correct horse battery"
PIN = "1234"


class Run(Browser):
    def __init__(self, a):
        super().__init__(a.url, a.shots)
        self.a = a
        self.agent = None
        self.agent_log = open(a.agent_log, "a")

    def start_agent(self, **env):
        """ecard agent --listen for the shop's pages (again, with env)."""
        self.stop_agent()
        e = dict(os.environ, ECARD_TEST_PINENTRY_LOG=self.a.pin_log,
                 ECARD_TEST_PINENTRY_ANSWERS=self.a.pin_answers, **env)
        self.agent = subprocess.Popen(
            [self.a.ecard, "--reader", self.a.reader, "agent", "--listen", self.a.agent_at,
             "--allow-origin", self.a.url, "--pinentry", self.a.pinentry, "--ca", self.a.ca],
            env=e, stdout=self.agent_log, stderr=self.agent_log)
        host, port = self.a.agent_at.rsplit(":", 1)
        for _ in range(100):
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise Failed("the agent did not listen on %s" % self.a.agent_at)

    def stop_agent(self):
        if self.agent:
            self.agent.terminate()
            self.agent.wait(timeout=10)
            self.agent = None

    def quit(self):
        self.stop_agent()
        super().quit()

    def balance(self):
        out = self.program(self.a.ecard, "--reader", self.a.reader, "balance", "--json")
        return json.loads(out)["balance_minor"]

    def holder_answers(self, *answers):
        """What the holder will answer pinentry, in turn; the log anew."""
        with open(self.a.pin_answers, "w") as f:
            f.write("".join(x + "\n" for x in answers))
        open(self.a.pin_log, "w").close()

    def shown(self):
        with open(self.a.pin_log) as f:
            return f.read()

    def js(self, script, *args):
        return self.d.execute_async_script(script, *args)

    def add_to_basket(self, product_path, quantity):
        self.go(product_path)
        self.fill("#quantity", str(quantity))
        self.click("#add")
        self.at("/basket")

    def pay(self, what):
        """Click the pay button; wait for the order paid, or refused."""
        total = self.text("#total")
        self.click("#pay-button")

        def ended():
            if self.d.find_elements(By.ID, "paid"):
                return "paid"
            status = self.d.find_elements(By.CSS_SELECTOR, "#pay-status.error")
            return status[0].text if status else None
        self.until(what, lambda: ended())
        outcome = ended()
        check(outcome == "paid", "%s: not paid: %s" % (what, outcome))
        return total


def minor(text):
    """"133.68 EUR" in minor units."""
    return int(round(float(text.split()[0]) * 100))


def place_order(r, a, product):
    """One of product, to an address typed in: the order page."""
    r.add_to_basket(product[len(a.url):], 1)
    r.click("#checkout")
    r.at("/checkout")
    r.fill("#street", "1 High Street")
    r.fill("#town", "Leeds")
    r.fill("#postcode", "LS1 1AA")
    r.click("#place")
    r.until("an order page", lambda: "/orders/" in r.d.current_url)


def steps(r, a):
    r.start_agent()
    # The catalogue and a category.
    r.go("/")
    check("500 products" in r.text("#count"), "the catalogue: %s" % r.text("#count"))
    r.shot("catalogue")
    r.d.find_element(By.CSS_SELECTOR, "nav.categories a").click()
    r.el("ul.products")
    r.shot("category")

    # Search; markup typed into the box is shown as text and never runs.
    r.fill("#q", "teapot")
    r.click("#search")
    r.at("q=teapot")
    names = [e.text for e in r.d.find_elements(By.CSS_SELECTOR, "a.product")]
    check(names and all("Teapot" in n for n in names), "the search finds teapots: %s" % names[:5])
    r.shot("search")
    r.fill("#q", "<img src=x onerror=window.hacked=1>")
    r.click("#search")
    r.el("#searched")
    check("<img src=x" in r.text("#searched"), "the search is shown as typed")
    check(r.d.execute_script("return window.hacked === undefined"), "markup in a search never runs")
    r.shot("search-markup-stays-text")

    # The basket, before an account: it follows into the log-in.
    r.go("/search?q=teapot")
    offers = [(minor(li.find_element(By.CSS_SELECTOR, ".price").text),
               li.find_element(By.CSS_SELECTOR, "a.product").get_attribute("href"))
              for li in r.d.find_elements(By.CSS_SELECTOR, "ul.products li")]
    product = min(offers)[1]    # the cheapest: the card holds 500.00
    r.add_to_basket(product[len(a.url):], 2)
    r.shot("basket")
    r.go("/signup")
    r.fill("#email", EMAIL)
    r.fill("#name", "<b>Ada</b>")
    r.fill("#password", PASSWORD)
    r.click("#submit")
    r.at("/basket")
    check(r.d.find_elements(By.CSS_SELECTOR, "#lines td a"), "the basket followed the sign-up")
    check("<b>Ada</b>" in r.text("#account"), "the name is shown as text")
    r.shot("signed-up-basket-kept")

    # Fill the address from the card: the holder agrees at the agent.
    r.click("#checkout")
    r.at("/checkout")
    r.holder_answers("yes")
    r.until("the fill button shows", lambda: r.el("#fill").is_displayed())
    r.click("#fill")
    r.until("filled from the card", lambda: "Filled in" in r.text("#fill-status"))
    check(r.el("#name").get_attribute("value") == "Ada Lovelace", "the name from the card")
    check(r.el("#street").get_attribute("value") == "12 St James's Square", "the street from the card")
    check(r.el("#postcode").get_attribute("value") == "SW1Y 4LE", "the postcode from the card")
    shown = r.shown()
    check("asks for these details from your card" in shown and a.url in shown and "postcode" in shown,
          "the holder was shown which details for which site: %s" % shown)
    r.shot("filled-from-card")
    r.click("#place")
    r.until("the order page", lambda: "/orders/" in r.d.current_url)
    check(r.text("#state") == "awaiting payment", "the order awaits payment")
    r.shot("order")

    # Pay: the site is allowed once, a wrong PIN, then the right one.
    before = r.balance()
    r.holder_answers("yes", "pin 0000", "pin " + PIN)
    paid_totals = []
    total = r.pay("the first payment")
    paid_totals.append(minor(total))
    check(r.text("#state") == "paid", "the order is paid")
    r.shot("paid")
    after = r.balance()
    check(before - after == minor(total), "charged once: %d - %d for %s" % (before, after, total))
    shown = r.shown()
    check(shown.count("GETPIN") == 2 and "Wrong PIN" in shown, "asked again after a wrong PIN: %s" % shown)
    check(("Pay %s to SmartMarket" % total) in shown, "the PIN dialog shows the amount: %s" % shown)
    check(PIN not in shown, "the PIN is nowhere in what was shown")

    # Log out, and in again: the order is in the account, paid.
    r.click("#logout")
    r.at("/")
    r.go("/login")
    r.fill("#email", EMAIL)
    r.fill("#password", PASSWORD)
    r.click("#submit")
    r.at("/basket")
    r.go("/account")
    check("paid" in r.text("#orders"), "the account lists the order paid: %s" % r.text("#orders"))
    r.shot("account-after-log-in")

    # A second order, paid while the card leaves the reader and comes back.
    place_order(r, a, product)
    before = r.balance()
    # As the holder types the PIN, the card leaves the reader (for 1.5 s):
    # VERIFY and DEBIT cannot reach it; the agent waits for it, comes back
    # to the session, the shop asks the card where it stands and, as
    # nothing was debited, for the PIN and DEBIT again.
    pull = "%s ctl %s remove >/dev/null; (sleep 1.5; %s ctl %s insert >/dev/null) &" % (
        a.vcard, a.ctl, a.vcard, a.ctl)
    # (The card may come and go more than once while pcscd sees it back:
    # each new DEBIT asks for the PIN again.)
    r.holder_answers("pin %s & %s" % (PIN, pull), "pin " + PIN, "pin " + PIN, "pin " + PIN)
    total = r.pay("the payment with the card pulled out")
    paid_totals.append(minor(total))
    r.shot("paid-after-the-card-came-back")
    after = r.balance()
    check(r.shown().count("GETPIN") >= 2, "the PIN was asked again: %s" % r.shown())
    print("browser: the card pulled out: paid once, the PIN asked %d times" % r.shown().count("GETPIN"),
          flush=True)

    # The link between the agent and the shop cut at each message of a
    # payment, before it reached the shop or after the shop acted: each
    # order paid, each charged once.
    for at in range(1, 5):
        for when in ("before", "after"):
            r.start_agent(ECARD_AGENT_TEST_CUT="%d:%s" % (at, when))
            place_order(r, a, product)
            before = r.balance()
            r.holder_answers("yes", "pin " + PIN, "pin " + PIN)
            total = r.pay("the payment with message %d cut %s" % (at, when))
            paid_totals.append(minor(total))
            after = r.balance()
            check(before - after == minor(total),
                  "cut %d %s: charged once: %d - %d for %s" % (at, when, before, after, total))
            with open(a.agent_log) as f:
                check("message %d lost" % at in f.read(), "the agent lost message %d" % at)
    r.shot("paid-with-cuts")
    r.start_agent()
    check(before - after == minor(total), "charged once: %d - %d for %s" % (before, after, total))

    # A page of another site cannot use the agent.
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!DOCTYPE html><title>another site</title><p>another site</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    other = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    r.holder_answers()
    r.d.get("http://127.0.0.1:%d/" % other.server_port)
    result = r.js("""
        var done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/v1/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({server: arguments[1] + '/gp/seram', sessionId: '00000000-0000-4000-8000-000000000000'})})
          .then(function (r) { done('answered ' + r.status); }, function (e) { done('refused: ' + e); });
    """, a.agent, a.url)
    check(result.startswith("refused"), "another site's page reached the agent: %s" % result)
    r.shot("another-site-refused")
    other.shutdown()
    with open(a.agent_log) as f:
        log = f.read()
    check("refused, not an allowed site" in log, "the agent refused it: %s" % log[-500:])
    check(r.shown() == "", "the holder was not asked for another site")

    # The shop's own page cannot send the agent to another server.
    r.go("/")
    result = r.js("""
        var done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/v1/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({server: arguments[1] + '/gp/seram', sessionId: '00000000-0000-4000-8000-000000000000'})})
          .then(function (r) { return r.json().then(function (j) { done(r.status + ' ' + j.error); }); },
                function (e) { done('failed: ' + e); });
    """, a.agent, a.issuer_url)
    check(result.startswith("403"), "the agent refused another server: %s" % result)

    # Staff add a product whose name has markup: it shows as text.
    r.program(a.shop, "customer", "staff", EMAIL, "--db", a.db)
    r.go("/admin")
    r.fill("#category", "Lab")
    r.fill("#name", "<script>window.hacked=1</script> Kettle")
    r.fill("#price", "9.99")
    r.click("#add-product")
    r.el("#notice")
    r.shot("admin-added-a-product")
    r.go("/search?q=kettle")
    r.d.find_element(By.CSS_SELECTOR, "a.product").click()
    r.el("#price")
    check("<script>" in r.text("h2"), "the name is shown as text")
    check(r.d.execute_script("return window.hacked === undefined"), "markup in a name never runs")
    r.shot("product-with-markup")

    # The shop settles with the issuer by itself (serve --settle-every 1):
    # each record paid once.
    want = "paid %d for %d records  SmartMarket" % (sum(paid_totals), len(paid_totals))
    merchants = ""
    for _ in range(100):
        merchants = r.program(a.server, "merchant", "list", "--db", a.issuer_db)
        if want in merchants:
            break
        time.sleep(0.2)
    check(want in merchants, "the issuer paid the shop for every order (%s): %s" % (want, merchants))
    print("browser: the issuer's merchants:\n" + merchants, flush=True)
    out = r.program(a.shop, "settle", "--db", a.db, "--to", a.issuer_url, "--token-file", a.token_file,
                    "--ca", a.ca)
    check(out.startswith("0 records sent"), "nothing is sent twice: %s" % out)


def main():
    p = argparse.ArgumentParser()
    for opt in ("url", "agent", "agent-at", "pinentry", "agent-log", "pin-log", "pin-answers", "ecard", "reader", "vcard",
                "ctl", "shop", "db", "server", "issuer-db", "issuer-url", "token-file", "ca", "work",
                "shots"):
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    r = Run(a)
    return run_main(r, lambda run: steps(run, a), "the shop")


if __name__ == "__main__":
    sys.exit(main())
