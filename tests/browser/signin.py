"""Sign-in in a real browser (Debian's Chromium driven by Playwright), on a 360x740 phone screen with
JavaScript off: invitation link -> password -> TOTP enrolment (codes computed from the URI the page shows)
-> sign-out -> sign-in with the second factor; then axe-core on each page in kk/ru/en. Run by the integration test `signin::in_a_real_browser`.

usage: signin.py <base URL> <invitation path> <e-mail> <screenshot dir>
"""
import os
import sys
import time
import urllib.parse

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from common import PHONE, totp

PASSWORD = "yurt felt and a kettle of milk tea"


def no_sideways_scroll(page, what):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{what}: the page is {width}px wide on a 360px screen"


def main():
    base, invite, email, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US")
        page = context.new_page()

        page.goto(base + invite + "?lang=en")
        assert "Choose a password" in page.content(), page.content()
        no_sideways_scroll(page, "invitation")
        page.get_by_label("New password", exact=True).fill(PASSWORD)
        page.get_by_label("New password again").fill(PASSWORD)
        page.screenshot(path=f"{shots}/1-invitation.png", full_page=True)
        page.get_by_role("button", name="Set password").click()
        assert "/login" in page.url, page.url + page.content()[:3000]
        assert "Your password is set" in page.content()

        page.get_by_label("E-mail address").fill(email.upper())
        page.get_by_label("Password").fill(PASSWORD)
        page.screenshot(path=f"{shots}/2-sign-in.png", full_page=True)
        page.get_by_role("button", name="Sign in").click()
        assert page.url.endswith("/app/account/totp"), page.url
        no_sideways_scroll(page, "second factor set-up")
        uri = page.locator("#otpauth-link").get_attribute("href")
        assert uri.startswith("otpauth://totp/"), uri
        assert page.locator("img.qr").is_visible()
        secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        page.screenshot(path=f"{shots}/3-totp-set-up.png", full_page=True)
        page.get_by_label("Code").fill(totp(secret, time.time()))
        page.get_by_role("button", name="Confirm").click()
        codes = page.locator("ol.codes li").all_inner_texts()
        assert len(codes) == 10, codes
        page.screenshot(path=f"{shots}/4-recovery-codes.png", full_page=True)

        page.get_by_role("button", name="Sign out").click()
        assert "You have signed out" in page.content()
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        assert "/login/totp" in page.url, page.url
        # The set-up code's time step is spent; the app's next code is accepted.
        page.get_by_label("Code").fill(totp(secret, time.time() + 30))
        page.screenshot(path=f"{shots}/5-second-factor.png", full_page=True)
        page.get_by_role("button", name="Continue").click()
        assert page.url.endswith("/app"), page.url
        assert "Signed in as" in page.content()
        no_sideways_scroll(page, "home")
        page.goto(base + "/app/account?lang=en")
        assert "(this browser)" in page.content()
        no_sideways_scroll(page, "account")
        page.screenshot(path=f"{shots}/6-account.png", full_page=True)
        cookies = context.cookies()
        session = [c for c in cookies if c["name"] == "gel_session"]
        assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax", cookies

        # Accessibility: axe-core on every page of this story, in each language; no serious or critical
        # violation. axe is a script, so this context runs JavaScript (and lets the injected script past the CSP).
        axe = Axe()
        checked = []
        for signed_in in (False, True):
            ctx = browser.new_context(viewport=PHONE, bypass_csp=True,
                                      storage_state=context.storage_state() if signed_in else None)
            pg = ctx.new_page()
            paths = ["/app", "/app/account", "/app/certificates"] if signed_in else ["/login", invite]
            for path in paths:
                for lang in ("kk", "ru", "en"):
                    pg.goto(f"{base}{path}?lang={lang}")
                    found = axe.run(pg).response["violations"]
                    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in found
                           if v["impact"] in ("serious", "critical")]
                    assert not bad, f"{path} ({lang}): {bad}"
                    checked.append(f"{path}?lang={lang}")
            ctx.close()
        print(f"axe-core: no serious or critical violations on {len(checked)} pages")
        browser.close()
    print("browser sign-in: ok")


if __name__ == "__main__":
    main()
