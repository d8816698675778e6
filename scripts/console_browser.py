"""Drives the hub's web console in headless Chromium (Selenium and Debian's chromium-driver).

Called by Examples/console/run.sh with a hub that holds one conflict on --case, a signed reply
--draft on it, and --other-case of another unit. Fails (exit 1) on the first thing that is not as
a person at the office would see it. With --screenshots DIR, writes a PNG of every page in
Simplified Chinese and in English, at a laptop's width and a tablet's.
"""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--driver", required=True)
p.add_argument("--case", required=True)
p.add_argument("--other-case", required=True)
p.add_argument("--phase", choices=["assign", "approve"], required=True)
p.add_argument("--draft")
p.add_argument("--chosen", help="write the value the resolution chose to this file")
p.add_argument("--screenshots")
args = p.parse_args()

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900", "--lang=zh-CN"]:
    options.add_argument(a)
# The hub's certificate is made for the run (self-signed, 127.0.0.1).
options.accept_insecure_certs = True
driver = webdriver.Chrome(service=Service(executable_path=args.driver), options=options)
driver.set_page_load_timeout(30)
checks = 0


def fail(message):
    print(f"console_browser: FAILED: {message} (at {driver.current_url})", file=sys.stderr)
    if args.screenshots:
        driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
    driver.quit()
    sys.exit(1)


def expect(condition, message):
    global checks
    checks += 1
    if not condition:
        fail(message)


def go(path):
    driver.get(args.base + path)


def text(selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else ""


def shoot(name):
    if not args.screenshots:
        return
    os.makedirs(args.screenshots, exist_ok=True)
    for label, width in (("laptop", 1280), ("tablet", 820)):
        driver.set_window_size(width, 900)
        height = driver.execute_script("return Math.max(document.body.scrollHeight, 900)")
        driver.set_window_size(width, min(height + 40, 6000))
        lang = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
        driver.save_screenshot(os.path.join(args.screenshots, f"{name}-{lang}-{label}.png"))
    driver.set_window_size(1280, 900)


def click(element):
    """Clicks and waits until the next page has replaced this one (a click returns at once)."""
    driver.execute_script("window.__before_click = true")
    element.click()
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return window.__before_click === undefined && document.readyState === 'complete'"))


def switch_language():
    click(driver.find_element(By.CSS_SELECTOR, "a.lang"))


def both_languages(name):
    """Screenshots of the current page in Chinese, then English, then back to Chinese."""
    shoot(name)
    if args.screenshots:
        switch_language()
        expect(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "the language switch gives English")
        shoot(name)
        switch_language()


def sign_in(user, password):
    go("/sign-in")
    driver.find_element(By.ID, "user").clear()
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    click(driver.find_element(By.ID, "sign-in"))


def submit(form_id):
    click(driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]"))


def assign_phase():
    """Sign-in, the conflict, the case's assessment and assignment."""
    # Chinese by default, and a page needs a session.
    go("/cases")
    expect("/console/sign-in" in driver.current_url, "an unsigned visit goes to the sign-in page")
    expect(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hans", "pages are Chinese by default")
    both_languages("sign-in")

    sign_in("wang", "not-the-password")
    expect("用户名或密码错误" in text("#sign-in-error"), "a wrong password is refused with a message")
    expect(driver.find_element(By.ID, "user").get_attribute("value") == "wang", "the user name typed is kept")

    sign_in("wang", "office-desk-2026")
    expect("/console/dashboard" in driver.current_url, "signing in opens the dashboard")
    expect(text("#tile-conflicts .n") == "1", "the dashboard counts the open conflict")
    both_languages("dashboard")

    # The conflict: both sides, the value they started from, resolved with a note.
    go("/conflicts")
    both_languages("conflicts")
    click(driver.find_element(By.CSS_SELECTOR, "#conflicts a"))
    expect("网帖称卫生院体检重复收费" in text("#base"), "the conflict page shows the value both sides started from")
    sides = driver.find_elements(By.CSS_SELECTOR, "#sides tbody tr")
    expect(len(sides) == 2, "the conflict page shows both sides")
    both = sides[0].text + sides[1].text
    expect("li@town-a" in both and "zhao@town-a" in both, "each side names its author")
    chosen = sides[0].find_elements(By.TAG_NAME, "td")[1].text
    both_languages("conflict")
    Select(driver.find_element(By.ID, "resolve-choice")).select_by_value("side-0")
    driver.find_element(By.ID, "resolve-note").send_keys("经电话核实，以卫生院财务记录为准。")
    submit("form-resolve")
    expect("/console/conflicts" in driver.current_url and not driver.find_elements(By.CSS_SELECTOR, "#conflicts a"),
           "the queue is empty after the resolution")
    expect("以卫生院财务记录为准" in text("#resolutions"), "the resolution is listed with its note")
    if args.chosen:
        with open(args.chosen, "w", encoding="utf-8") as f:
            f.write(chosen)

    # The case: search, then the office's steps.
    go("/cases?q=" + "重复收费")
    expect(args.case in text("table.cases"), "searching for 重复收费 finds the case")
    both_languages("cases")
    go("/cases/" + args.case)
    both_languages("case")
    driver.find_element(By.ID, "assess-opinion").send_keys("属实，由城关镇核查并答复。")
    submit("form-assess")
    expect(text("#case-status") == "已研判", "the assessment moves the case to 已研判")
    Select(driver.find_element(By.ID, "assign-lead")).select_by_value("town-a")
    driver.find_element(By.ID, "assign-instruction").send_keys("请于明日前核实并答复。")
    submit("form-assign")
    expect(text("#case-lead") == "城关镇", "the assignment names the lead unit")
    expect(text("#case-status") == "已交办", "the case is assigned")


def approve_phase():
    """The reply's approval, every other page, sign-out, and a unit's user."""
    sign_in("wang", "office-desk-2026")
    go("/cases/" + args.case)
    expect("已签字" in text("#replies"), "the signed reply arrived from the node")
    driver.find_element(By.ID, f"approve-{args.draft}-note").send_keys("同意发布。")
    submit(f"form-approve-{args.draft}")
    expect("已审定" in text("#replies"), "the reply is approved")
    shoot("case-approved")

    go("/statistics")
    expect(driver.find_elements(By.CSS_SELECTOR, "svg.chart"), "statistics draw their charts")
    both_languages("statistics")
    go("/devices")
    expect(len(driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr")) == 3, "the devices page lists the three devices")
    both_languages("devices")
    go("/organisation")
    both_languages("organisation")
    click(driver.find_element(By.ID, "sign-out"))
    expect("/console/sign-in" in driver.current_url, "signing out ends the session")
    go("/dashboard")
    expect("/console/sign-in" in driver.current_url, "after signing out pages need a session again")

    # Township B's monitor: only what town-b may see.
    sign_in("sun", "river-west-2026")
    go("/cases")
    listed = text("table.cases")
    expect(args.other_case in listed and args.case not in listed, "a unit's user lists only the unit's cases")
    go("/cases/" + args.case)
    expect("没有您可查看的案件" in text("#error-message"), "another unit's case page is not shown")
    go("/conflicts")
    expect("冲突队列不在您的角色权限之内" in text("#error-message"), "the conflict queue is refused to a unit's user")
    expect(not driver.find_elements(By.CSS_SELECTOR, "nav a[href='/console/devices']"), "a unit's user is offered no device page")
    go("/dashboard")
    both_languages("unit-user-dashboard")


try:
    assign_phase() if args.phase == "assign" else approve_phase()
except Exception as e:  # an element missing, a time-out: say where
    fail(f"{type(e).__name__}: {e}")
driver.quit()
print(f"console_browser: {args.phase}: {checks} checks passed in Chromium")
