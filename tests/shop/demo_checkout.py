#!/usr/bin/python3
"""demo_checkout.py - the demo's checkout in a headless browser (Chromium
driven by Selenium): search the shop, put the cheapest find in the basket,
sign up, fill the address from the card, place the order and pay it with
the card's PIN through the holder's agent. A screenshot of each step goes
to --shots; each step is told on standard output.

usage: demo_checkout.py --url SHOP_URL --shots DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from browser_run import Run, check, main as run_main  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


def say(text):
    print("browser: " + text, flush=True)


def steps(r):
    r.go("/search?q=teapot")
    offers = [(float(li.find_element(By.CSS_SELECTOR, ".price").text.split()[0]),
               li.find_element(By.CSS_SELECTOR, "a.product"))
              for li in r.d.find_elements(By.CSS_SELECTOR, "ul.products li")]
    check(offers, "the search found teapots")
    price, link = min(offers, key=lambda o: o[0])
    say("searched for \"teapot\": %d found; the cheapest is %s at %.2f" % (len(offers), link.text, price))
    r.shot("search")
    link.click()
    r.click("#add")
    r.at("/basket")
    r.shot("basket")
    r.go("/signup")
    r.fill("#email", "ada@example.org")
    r.fill("#name", "Ada")
    r.fill("#password", "correct horse battery")
    r.click("#submit")
    r.at("/basket")
    say("signed up; the basket came along")
    r.click("#checkout")
    r.at("/checkout")
    r.until("the fill button", lambda: r.el("#fill").is_displayed())
    r.click("#fill")
    r.until("the address from the card", lambda: "Filled in" in r.text("#fill-status"))
    say("filled in from the card (the holder said yes at the agent): %s, %s, %s" %
        (r.el("#name").get_attribute("value"), r.el("#street").get_attribute("value"),
         r.el("#town").get_attribute("value")))
    r.shot("filled-from-card")
    r.click("#place")
    r.until("the order page", lambda: "/orders/" in r.d.current_url)
    say("%s placed: %s to pay" % (r.text("h2"), r.text("#total")))
    r.shot("order")
    r.click("#pay-button")
    r.until("the order paid", lambda: r.d.find_elements(By.ID, "paid") or
            r.d.find_elements(By.CSS_SELECTOR, "#pay-status.error"))
    if not r.d.find_elements(By.ID, "paid"):
        check(False, "not paid: %s" % r.text("#pay-status"))
    say("paid: %s (the PIN went from the agent to the card; the card signed, the shop checked)" %
        r.text("#paid"))
    r.shot("paid")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--shots", required=True)
    a = p.parse_args()
    return run_main(Run(a.url, a.shots), steps, "the demo's checkout")


if __name__ == "__main__":
    sys.exit(main())
