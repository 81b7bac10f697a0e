"""Sign in through the pages (invitation link -> password -> sign-in -> TOTP set-up when the role needs it)
and print the session cookie's value, for the portal load test. usage: portal_session.py <base> <invite URL>
<e-mail>"""
import re
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests/browser")
from common import totp  # noqa: E402

PASSWORD = "steppe wind over the ishim river"
base, link, email = sys.argv[1:4]
jar = CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def post(path, fields):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Origin": base, "Sec-Fetch-Site": "same-origin"})
    return opener.open(req).read().decode()


def get(path):
    return opener.open(base + path).read().decode()


invite = "/invite/" + link.split("/invite/", 1)[1]
post(invite, {"password": PASSWORD, "password_confirm": PASSWORD})
get("/login")
post("/login", {"email": email, "password": PASSWORD})
page = get("/app/account/totp")
uri = re.search(r'id="otpauth-uri">([^<]+)<', page)
if uri:
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri.group(1).replace("&amp;", "&")).query)["secret"][0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    post("/app/account/totp", {"code": totp(secret, time.time()), "csrf": csrf})
home = get("/app")
assert "Sign out" in home or "Шығу" in home or "Выйти" in home, home[:2000]
print(next(c.value for c in jar if c.name == "gel_session"))
