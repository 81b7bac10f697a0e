"""The whole portal story in a real browser (Debian's Chromium driven by Playwright), on a 360x740 phone
screen with JavaScript off: an assessor creates a venue, starts an audit, fills in the form, uploads four
files and submits; an officer approves; an admin invites the venue's manager, who downloads the PDF and the
QR image; a second officer suspends the certificate and the public page says so; a visitor reports a
problem from the public page, the manager appeals the suspension and the first officer upholds it. axe-core
checks every portal page on the way, in kk/ru/en. Run by the integration test `story::the_whole_story_in_a_real_browser`.

usage: story.py <base URL> <screenshot dir> <evidence dir>
"""
import os
import re
import subprocess
import sys
import time
import urllib.parse

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from common import PHONE, totp

PASSWORD = "steppe wind over the ishim river"

# A Gold audit as an assessor types it on the form (a decimal comma included), by input name.
GOLD_FORM = {
    "plastic_reduction.baseline_kg": "1200",
    "plastic_reduction.last_12_months_kg": "480",
    "alternative_materials.items_total": "350",
    "alternative_materials.alternatives_count": "300",
    "separate_collection.waste_points_total": "24",
    "separate_collection.points_with_plastic_stream": "23",
    "separate_collection.contamination_pct": "6,5",
    "recycling_handover.collected_kg": "610",
    "recycling_handover.handed_over_kg": "540",
    "recycling_handover.transfer_notes[0].recycler": "Kazakhstan Waste Recycling LLP",
    "recycling_handover.transfer_notes[0].licence_no": "KZ-02-0451",
    "recycling_handover.transfer_notes[0].date": "2025-11-30",
    "recycling_handover.transfer_notes[0].kg": "540",
}

# Every visible link and control a person taps, measured (WCAG 2.5.5): at least 44x44 CSS px; a check box
# or radio button at least 24 px, inside a label at least 44 px high that takes the tap.
TARGETS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (el.closest('.sr-only, .visually-hidden')) continue;
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    if ((r.width === 0 && r.height === 0) || st.visibility === 'hidden' || st.display === 'none') continue;
    const name = (el.innerText || el.value || el.name || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label');
      const lh = label ? label.getBoundingClientRect().height : 0;
      if (r.width < 24 || r.height < 24 || lh < 44) bad.push(`${el.type} "${name}" ${Math.round(r.width)}x${Math.round(r.height)} in a ${Math.round(lh)} px label`);
      continue;
    }
    if (r.width < 43.5 || r.height < 43.5) bad.push(`${el.tagName.toLowerCase()} "${name}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return bad;
}"""


class Story:
    def __init__(self, browser, base, shots):
        self.browser, self.base, self.shots = browser, base, shots
        self.step = 0
        self.axe = Axe()
        self.checked = 0
        # Every document a person's browser received as JSON (there must be none).
        self.json_pages = []

    def person(self):
        ctx = self.browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-US", accept_downloads=True)
        page = ctx.new_page()
        page.on("response", self.watch)
        return ctx, page

    def watch(self, response):
        if response.request.resource_type == "document" and "json" in (response.headers.get("content-type") or ""):
            self.json_pages.append(f"{response.status} {response.url}")

    def check_here(self, page, what):
        """Tap targets of the page as it is (a page reached by a form post), measured without scripts of its own."""
        js = self.browser.new_context(viewport=PHONE, bypass_csp=True)
        pg = js.new_page()
        pg.goto(self.base + "/healthz")  # so that the page's stylesheet link resolves
        pg.set_content(page.content())
        bad = pg.evaluate(TARGETS)
        assert not bad, f"{what}: targets below 44x44 px (24 px for check boxes): {bad}"
        js.close()

    def shot(self, page, name):
        self.step += 1
        page.screenshot(path=f"{self.shots}/{self.step:02d}-{name}.png", full_page=True)

    def go(self, page, path):
        page.goto(self.base + path)

    def sign_in(self, page, email, factor=False):
        self.go(page, "/login?lang=en")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        if factor:
            assert page.url.endswith("/app/account/totp"), page.url
            uri = page.locator("#otpauth-link").get_attribute("href")
            secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
            page.get_by_label("Code").fill(totp(secret, time.time()))
            page.get_by_role("button", name="Confirm").click()
            page.get_by_role("link", name="Continue").click()
        assert "/app" in page.url, page.url

    def sign_out(self, page):
        page.get_by_role("button", name="Sign out").first.click()

    def axe_check(self, ctx, paths):
        """axe-core on each page as this person sees it, in the three languages (a JS context sharing the cookie)."""
        js = self.browser.new_context(viewport=PHONE, bypass_csp=True, storage_state=ctx.storage_state())
        pg = js.new_page()
        for path in paths:
            for lang in ("kk", "ru", "en"):
                sep = "&" if "?" in path else "?"
                pg.goto(f"{self.base}{path}{sep}lang={lang}")
                found = self.axe.run(pg).response["violations"]
                bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in found
                       if v["impact"] in ("serious", "critical")]
                assert not bad, f"{path} ({lang}): {bad}"
                width = pg.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path} ({lang}) is {width}px wide on a 360px screen"
                small = pg.evaluate(TARGETS)
                assert not small, f"{path} ({lang}): targets below 44x44 px (24 px for check boxes): {small}"
                self.checked += 1
        js.close()


def main():
    base, shots, files = sys.argv[1:4]
    os.makedirs(shots, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        s = Story(browser, base, shots)

        # 1. The assessor: a venue, an audit, the form, four files, submission.
        actx, a = s.person()
        s.sign_in(a, "assessor@example.kz")
        s.go(a, "/app/venues/new?lang=en")
        a.get_by_label("Name (as shown)").fill("Smart Plastic Zone")
        a.get_by_label("Name in Kazakh").fill("Smart Plastic Zone жобасы")
        a.get_by_label("Name in Russian").fill("Проект Smart Plastic Zone")
        a.get_by_label("Name in English").fill("Smart Plastic Zone project")
        a.get_by_label("Address").fill("Mangilik El 55, EXPO")
        a.get_by_label("City *", exact=True).fill("Astana")
        a.get_by_label("Kind of venue").select_option("expo_pavilion")
        s.shot(a, "assessor-new-venue")
        a.get_by_role("button", name="Create the venue").click()
        venue_id = int(re.search(r"/app/venues/(\d+)", a.url).group(1))
        a.get_by_role("button", name="Start an audit of this venue").click()
        audit = int(re.search(r"/app/assessments/(\d+)", a.url).group(1))
        audit_page = f"/app/assessments/{audit}"
        s.go(a, audit_page + "?lang=en")
        fill = GOLD_FORM
        for name, value in fill.items():
            a.locator(f'[name="{name}"]').fill(value)
        s.shot(a, "assessor-measurements")
        a.get_by_role("button", name="Save", exact=True).last.click()
        assert "Saved." in a.content(), a.content()[:3000]
        assert a.content().count("✓ met") >= 4, "every criterion's figure passes"
        assert "60.0 %" in a.content()
        s.shot(a, "assessor-figures")
        uploads = [("plastic_reduction", "purchase-records.pdf"), ("alternative_materials", "invoice.pdf"),
                   ("separate_collection", "bins.png"), ("recycling_handover", "transfer-note.pdf")]
        for criterion, name in uploads:
            a.locator(f"#file-{criterion}").set_input_files(os.path.join(files, name))
            a.locator(f"#evidence-{criterion}").get_by_role("button", name="Upload").click()
            assert f"#evidence-{criterion}" in a.url or a.url.endswith(audit_page), a.url
            assert name in a.content(), a.content()[:3000]
        assert "img class=\"thumb\"" in a.content(), "a thumbnail of the photo"
        s.shot(a, "assessor-evidence")
        s.axe_check(actx, ["/app", "/app/venues", "/app/venues/new", f"/app/venues/{venue_id}", "/app/assessments", audit_page])
        a.get_by_role("button", name="Submit for decision").click()
        assert "Submitted, awaiting a decision" in a.content(), a.content()[:3000]
        s.shot(a, "assessor-submitted")
        # The assessor's role does not decide.
        s.go(a, "/app/reviews?lang=en")
        assert "Your role may not do this." in a.content()
        s.sign_out(a)

        # 2. An officer who did not do the audit approves it.
        octx, o = s.person()
        s.sign_in(o, "officer@example.kz", factor=True)
        s.go(o, "/app/reviews?lang=en")
        o.get_by_role("link", name="Smart Plastic Zone").first.click()
        content = o.content()
        assert "Kazakhstan Waste Recycling LLP" in content and "purchase-records.pdf" in content
        s.shot(o, "officer-review")
        s.axe_check(octx, ["/app/reviews", audit_page])
        o.get_by_role("button", name="Approve and issue the certificate").click()
        assert "Issue a certificate for Smart Plastic Zone" in o.locator("#confirm-what").inner_text()
        o.get_by_role("button", name="Yes, approve").click()
        number = re.search(r"/app/certificates/(GEL-\d{4}-\d{6})", o.url).group(1)
        s.shot(o, "officer-certificate")
        s.axe_check(octx, ["/app/certificates", f"/app/certificates/{number}"])
        # This officer stays signed in: the complaint and the appeal come back to them in step 6.

        # 3. An admin invites the venue's manager, bound to the venue; keys and people pages.
        mctx, adm = s.person()
        s.sign_in(adm, "admin@example.kz", factor=True)
        # From the venue's page: no venue number to type.
        s.go(adm, f"/app/venues/{venue_id}?lang=en")
        form = adm.locator("form", has=adm.get_by_role("button", name="Invite the manager"))
        form.get_by_label("E-mail address").fill("manager@spz.kz")
        form.get_by_label("Name", exact=True).fill("Dana Manager")
        adm.get_by_role("button", name="Invite the manager").click()
        link = adm.locator("#invitation-link").inner_text()
        invite_path = link[link.index("/invite/"):]
        s.shot(adm, "admin-invited")
        manager_page = adm.get_by_role("link", name="Dana Manager").get_attribute("href")
        assert adm.get_by_role("link", name="Smart Plastic Zone").count() >= 1, "the people list names the manager's venue"
        s.axe_check(mctx, ["/app", "/app/users", manager_page, "/app/keys"])
        s.sign_out(adm)

        # 4. The venue manager: password, certificate, PDF and QR image.
        vctx, v = s.person()
        s.go(v, invite_path + "?lang=en")
        v.get_by_label("New password", exact=True).fill(PASSWORD)
        v.get_by_label("New password again").fill(PASSWORD)
        v.get_by_role("button", name="Set password").click()
        s.sign_in(v, "manager@spz.kz")
        s.go(v, "/app/certificates?lang=en")
        v.get_by_role("link", name=number).click()
        qr_text = v.get_by_role("link", name="Verification link (the QR code's address)").get_attribute("href")
        s.shot(v, "manager-certificate")
        with v.expect_download() as d:
            v.get_by_role("link", name="Download the PDF").click()
        pdf = os.path.join(shots, f"{number}.pdf")
        d.value.save_as(pdf)
        text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
        assert number in text and "Smart Plastic Zone" in text, text[:2000]
        with v.expect_download() as d:
            v.get_by_role("link", name="QR code as PNG (web sites)").click()
        png = os.path.join(shots, f"{number}-qr.png")
        d.value.save_as(png)
        decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png], capture_output=True, text=True, check=True).stdout.strip()
        assert decoded == qr_text, (decoded, qr_text)
        s.axe_check(vctx, ["/app", "/app/certificates", f"/app/certificates/{number}", f"/app/assessments/{audit}", "/app/account"])
        # Another venue's pages do not exist for this manager.
        s.go(v, "/app/venues/999999?lang=en")
        assert "No such venue." in v.content()

        # 5. A second officer suspends it; the public page says so.
        sctx, o2 = s.person()
        s.sign_in(o2, "officer2@example.kz", factor=True)
        s.go(o2, f"/app/certificates/{number}?lang=en")
        o2.get_by_label("Reason").fill("Plastic stream contaminated at the March inspection")
        s.shot(o2, "second-officer-suspends")
        o2.get_by_role("button", name="Suspend").click()
        o2.get_by_role("button", name="Yes, suspend").click()
        assert "Suspended" in o2.content(), o2.content()[:3000]
        pctx, pub = s.person()
        s.go(pub, f"/certificates/{number}?lang=en")
        assert "Suspended" in pub.content() and "Plastic stream contaminated" in pub.content(), pub.content()[:3000]
        s.shot(pub, "public-page-suspended")

        # 6. A visitor reports a problem from the public page (no account, a photo from the phone); the
        # officer who approved finds it. The venue's manager appeals the suspension; that officer, who took
        # no part in the suspension, upholds it and the certificate is valid again.
        pub.get_by_role("link", name="Report a problem with this label").click()
        pub.get_by_label("The venue does not meet the criteria").check()
        pub.get_by_label("What did you see?").fill("Plastic cups are back at the counter.")
        pub.get_by_label("Photo (optional, JPEG or PNG, up to 5 MB)").set_input_files(os.path.join(files, "bins.png"))
        s.shot(pub, "public-report-form")
        pub.get_by_role("button", name="Send the report").click()
        reference = pub.locator("#reference").inner_text()
        assert re.fullmatch(r"CMP-[0-9A-Z]{4}-[0-9A-Z]{4}", reference), reference
        s.shot(pub, "public-report-received")
        s.axe_check(pctx, [f"/certificates/{number}/complaints/new"])
        s.go(o, "/app/complaints?lang=en")
        assert reference in o.content(), o.content()[:3000]
        s.axe_check(octx, ["/app/complaints"])
        s.go(v, f"/app/certificates/{number}?lang=en")
        v.get_by_role("link", name="Appeal this decision").click()
        v.get_by_label("Your statement").fill("The bins were moved for cleaning on the day of the inspection.")
        v.get_by_label("Files (PDF, JPEG or PNG, up to 10 MB each)").set_input_files(os.path.join(files, "bins.png"))
        s.shot(v, "manager-appeals")
        v.get_by_role("button", name="Send the appeal").click()
        appeal_page = urllib.parse.urlparse(v.url).path
        assert re.fullmatch(r"/app/appeals/\d+", appeal_page), v.url
        assert "bins.png" in v.content()
        s.axe_check(vctx, [appeal_page, "/app/appeals"])
        s.go(o, f"{appeal_page}?lang=en")
        o.get_by_label("Reason").fill("The photos show the bins in use.")
        o.get_by_role("button", name="Uphold (reverse the decision)").click()
        assert "is reversed" in o.locator("#confirm-what").inner_text()
        o.get_by_role("button", name="Yes, uphold").click()
        assert "Upheld" in o.content(), o.content()[:3000]
        s.shot(o, "officer-upholds-appeal")
        s.go(pub, f"/certificates/{number}?lang=en")
        assert "Valid" in pub.content(), pub.content()[:3000]
        assert not s.json_pages, f"JSON reached by clicking: {s.json_pages}"
        for ctx in (actx, octx, mctx, vctx, sctx, pctx):
            ctx.close()
        browser.close()
        print(f"axe-core: no serious or critical violations on {s.checked} portal pages")
    print(f"story: ok ({s.step} screenshots in {shots})")


if __name__ == "__main__":
    main()
