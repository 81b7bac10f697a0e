"""The portal fit for the people who use it, in a real browser (Debian's Chromium driven by Playwright) on a
360x740 phone screen with JavaScript off, in kk, ru and en:
- nothing typed is lost: figures typed on the audit form survive an upload (the upload saves them);
- the chosen language is kept across five navigations and two form posts, public and portal;
- decisions take a confirmation step that names what will happen; flash messages say what happened;
- the second factor's set-up offers a link that opens the authenticator app on the same phone;
- a suspended certificate's public page says what was valid and since when it is not;
- the venue's Russian name and city, typed by the assessor, are what Russian pages show, and the register's
  search finds it typed without the «ё» ("зеленая" finds "Зелёная чашка");
- no page reached by clicking is JSON (every document response is watched), and every visible link and
  control is at least 44x44 CSS px, check boxes and radio buttons 24 px beside a 44 px label (measured on
  every page the people visit, with axe-core, by Story.axe_check).
It counts the page loads and taps of the assessor's clean path and of the officer's decision.
Run by the integration test `audit_form::the_portal_fits_in_a_real_browser`.

usage: fit.py <base URL> <screenshot dir> <evidence dir> <the assessor's invitation path>
"""
import os
import re
import sys

from playwright.sync_api import sync_playwright

from story import GOLD_FORM, PASSWORD, Story


def lang_of(page):
    return page.locator("html").get_attribute("lang")


class Counter:
    """Page loads (documents) and taps of one person."""

    def __init__(self, page):
        self.loads, self.taps = 0, 0
        page.on("load", lambda: self.__setattr__("loads", self.loads + 1))

    def tap(self, locator):
        self.taps += 1
        locator.click()


def main():
    base, shots, files, invitation = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        s = Story(browser, base, shots)

        # 1. The assessor, from the invitation link to a submitted audit, counted.
        actx, a = s.person()
        c = Counter(a)
        s.go(a, invitation + "?lang=en")
        a.get_by_label("New password", exact=True).fill(PASSWORD)
        a.get_by_label("New password again").fill(PASSWORD)
        c.tap(a.get_by_role("button", name="Set password"))
        # The sign-in page has the e-mail filled in.
        assert a.get_by_label("E-mail address").input_value() == "assessor@example.kz"
        a.get_by_label("Password").fill(PASSWORD)
        c.tap(a.get_by_role("button", name="Sign in"))
        c.tap(a.get_by_role("link", name="Venues", exact=True))
        c.tap(a.get_by_role("link", name="New venue"))
        a.get_by_label("Name (as shown)").fill("Green Cup Café")
        a.get_by_label("Address").fill("Kabanbay Batyr 11")
        a.get_by_label("City *", exact=True).fill("Astana")
        # Its Russian name and city, which Russian pages show.
        a.get_by_label("Name in Russian").fill("Зелёная чашка")
        a.get_by_label("City in Russian").fill("Астана")
        # No kind is assumed: creating without choosing one is refused next to the field, in the page's language.
        c.tap(a.get_by_role("button", name="Create the venue"))
        assert "Kind of venue: Required." in a.content(), a.content()[:3000]
        assert a.get_by_label("Name (as shown)").input_value() == "Green Cup Café", "typed input kept"
        a.get_by_label("Kind of venue").select_option("cafe")
        c.tap(a.get_by_role("button", name="Create the venue"))
        assert "Venue created." in a.locator("#flash").inner_text()
        c.tap(a.get_by_role("button", name="Start an audit of this venue"))
        assert "Audit started" in a.locator("#flash").inner_text()
        audit_page = re.search(r"/app/assessments/\d+", a.url).group(0)
        fill = GOLD_FORM
        for name, value in fill.items():
            a.locator(f'[name="{name}"]').fill(value)
        # Every file chosen at once, then one tap on Upload: the typed figures are saved with them.
        for criterion, name in [("plastic_reduction", "purchase-records.pdf"), ("alternative_materials", "invoice.pdf"),
                                ("separate_collection", "bins.png"), ("recycling_handover", "transfer-note.pdf")]:
            a.locator(f"#file-{criterion}").set_input_files(os.path.join(files, name))
        s.shot(a, "fit-assessor-before-upload")
        c.tap(a.locator("#evidence-plastic_reduction").get_by_role("button", name="Upload"))
        assert "4 file(s) uploaded" in a.locator("#flash, p.notice").first.inner_text(), a.content()[:3000]
        for name, value in fill.items():
            assert a.locator(f'[name="{name}"]').input_value() in (value, value.replace(",", ".")), (name, a.locator(f'[name="{name}"]').input_value())
        s.shot(a, "fit-assessor-after-upload")
        c.tap(a.get_by_role("button", name="Submit for decision"))
        assert "submitted" in a.content(), a.content()[:3000]
        assessor_path = (c.loads, c.taps)
        s.axe_check(actx, ["/app/venues/new", audit_page])

        # The assessor switches to Kazakh: five navigations and two form posts later, still Kazakh.
        c.tap(a.get_by_role("link", name="Қазақша"))
        assert lang_of(a) == "kk"
        for link in ["/app/venues", "/app/assessments", "/app/certificates", "/app/notifications", "/app/account"]:
            c.tap(a.locator(f'nav.portal a[href="{link}"]'))
            assert lang_of(a) == "kk", (link, a.url)
        s.go(a, "/app/venues/new")
        a.locator("#name").fill("Dala Hall")
        a.locator("#address").fill("Turan 5")
        a.locator("#city").fill("Astana")
        a.locator("#category").select_option("event_hall")
        c.tap(a.get_by_role("button", name="Алаңды құру"))
        assert lang_of(a) == "kk" and "Алаң құрылды" in a.content(), a.url
        c.tap(a.get_by_role("button", name="Осы алаңның аудитін бастау"))
        assert lang_of(a) == "kk" and "Аудит басталды" in a.content(), a.url
        a.locator('button[value="logout"]').first.click()

        # 2. The officer decides: a confirmation step names what will happen; approve is styled apart.
        octx, o = s.person()
        s.sign_in(o, "officer@example.kz", factor=True)
        oc = Counter(o)
        oc.tap(o.get_by_role("link", name="Audits to decide"))
        oc.tap(o.get_by_role("link", name="Green Cup Café"))
        assert "Kazakhstan Waste Recycling LLP" in o.content()
        approve = o.get_by_role("button", name="Approve and issue the certificate")
        assert "danger" not in (approve.get_attribute("class") or "") and "secondary" not in (approve.get_attribute("class") or "")
        assert "secondary" in o.get_by_role("button", name="Return to the assessor").get_attribute("class")
        oc.tap(approve)
        what = o.locator("#confirm-what").inner_text()
        assert "Issue a certificate for Green Cup Café, valid until" in what, what
        s.shot(o, "fit-officer-confirms")
        s.check_here(o, "the confirmation step")
        oc.tap(o.get_by_role("button", name="Yes, approve"))
        number = re.search(r"/app/certificates/(GEL-\d{4}-\d{6})", o.url).group(1)
        assert "Certificate issued" in o.locator("#flash").inner_text()
        officer_path = (oc.loads, oc.taps)
        # A second officer suspends it, also through a confirmation.
        sctx, o2 = s.person()
        s.sign_in(o2, "officer2@example.kz", factor=True)
        s.go(o2, f"/app/certificates/{number}?lang=en")
        o2.get_by_label("Reason").fill("Single-use cups back at the counter")
        o2.get_by_role("button", name="Suspend").click()
        assert "Suspend certificate" in o2.locator("#confirm-what").inner_text()
        o2.get_by_role("link", name="Go back, change nothing").click()
        assert "Suspended" not in o2.locator("p.status-line").inner_text(), o2.url
        o2.get_by_label("Reason").fill("Single-use cups back at the counter")
        o2.get_by_role("button", name="Suspend").click()
        o2.get_by_role("button", name="Yes, suspend").click()
        assert "Certificate suspended" in o2.locator("#flash").inner_text()

        # 3. A visitor chooses Русский on the register: five navigations and a form post stay Russian; the
        # suspended certificate's page says what was valid and since when it is not.
        pctx, pub = s.person()
        s.go(pub, "/register")
        pub.get_by_role("link", name="Русский").click()
        assert lang_of(pub) == "ru"
        # Searched as people type, without the «ё»: the venue is listed by its Russian name.
        pub.get_by_label("Название площадки").fill("зеленая")
        pub.get_by_role("button", name="Найти").click()
        assert lang_of(pub) == "ru"
        pub.get_by_role("link", name="Зелёная чашка").first.click()
        assert "<h1>Зелёная чашка</h1>" in pub.content() and "<dd>Астана</dd>" in pub.content(), pub.content()[:3000]
        assert lang_of(pub) == "ru" and "Был действителен" in pub.content() and "не действителен с" in pub.content(), pub.content()[:3000]
        assert "Single-use cups back at the counter" in pub.content()
        s.shot(pub, "fit-public-suspended-ru")
        pub.get_by_role("link", name="Сообщить о проблеме с этим знаком").click()
        assert lang_of(pub) == "ru"
        pub.locator('input[name="category"]').first.check()
        pub.locator("#description").fill("Пластиковые стаканы снова на стойке.")
        pub.locator('button[type="submit"]').first.click()
        assert lang_of(pub) == "ru" and pub.locator("#reference").is_visible(), pub.content()[:3000]
        # The language links of the report's answer lead to a page, never to JSON.
        pub.get_by_role("link", name="English").click()
        assert lang_of(pub) == "en", pub.content()[:2000]
        pub.get_by_role("link", name="Русский").click()
        pub.locator("a.brand").click()
        assert lang_of(pub) == "ru"
        s.axe_check(pctx, ["/register", f"/certificates/{number}", f"/certificates/{number}/log"])

        # 4. A new officer's second factor on the same phone: a link opens the app; the key reads in fours.
        nctx, n = s.person()
        s.go(n, "/login?lang=en")
        n.get_by_label("E-mail address").fill("officer3@example.kz")
        n.get_by_label("Password").fill(PASSWORD)
        n.get_by_role("button", name="Sign in").click()
        assert n.url.endswith("/app/account/totp"), n.url
        assert n.get_by_role("link", name="Open in the authenticator app").get_attribute("href").startswith("otpauth://totp/")
        assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", n.locator("#totp-key").inner_text()), n.locator("#totp-key").inner_text()
        s.axe_check(nctx, ["/app/account/totp"])

        assert not s.json_pages, f"JSON reached by clicking: {s.json_pages}"
        for ctx in (actx, octx, sctx, pctx, nctx):
            ctx.close()
        browser.close()
        print(f"assessor, invitation link to submitted audit (one refusal on the way): {assessor_path[0]} page loads, {assessor_path[1]} taps")
        print(f"officer, queue to issued certificate: {officer_path[0]} page loads, {officer_path[1]} taps")
        print(f"axe-core and tap targets: {s.checked} page checks")
    print(f"fit: ok ({s.step} screenshots in {shots})")


if __name__ == "__main__":
    main()
