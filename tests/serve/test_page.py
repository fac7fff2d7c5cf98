"""The web page in headless Chromium (Debian's chromium + chromium-driver): give the key,
upload a clip, watch the answer stream in; record from a (fake) microphone; a screenshot
is kept as a test artifact."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from llaso.generation.sampling import SamplingParams
from llaso.serve.settings import build_settings

pytestmark = pytest.mark.slow

KEY = "llaso-page-test-key"
CHROMIUM, DRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def reference(tiny, clips) -> str:
    messages = [{"role": "user", "content": [{"type": "audio", "path": str(clips["hello"])},
                                             {"type": "text", "text": "Transcribe the audio."}]}]
    return tiny.chat(messages, SamplingParams(max_new_tokens=16))


@pytest.fixture(scope="module")
def transcript(whisper, clips) -> str:
    return whisper.transcribe([str(clips["hello"])])[0].text


@pytest.fixture(scope="module")
def server(thread_server, reference, transcript):
    return thread_server(build_settings(api_keys=[KEY], max_tokens=64))


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("the page test needs Debian's chromium and chromium-driver (scripts/install-system-deps.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,820",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(condition, timeout: float = 120.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _answer_done(driver):
    from selenium.webdriver.common.by import By

    bubbles = driver.find_elements(By.CSS_SELECTOR, ".message.assistant")
    if not bubbles or driver.find_element(By.ID, "conversation").get_attribute("data-state") != "idle":
        return None
    return bubbles[-1]


def test_page_key_upload_and_streamed_answer(server, browser, clips, reference, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    _wait(lambda: browser.find_element(By.ID, "key-panel").is_displayed(), what="the key prompt")
    assert browser.find_element(By.ID, "status").text == "ready"
    browser.find_element(By.ID, "api-key").send_keys(KEY)
    browser.find_element(By.ID, "key-save").click()
    assert not browser.find_element(By.ID, "key-panel").is_displayed()

    tokens = browser.find_element(By.ID, "max-tokens")
    tokens.clear()
    tokens.send_keys("16")
    upload = browser.find_element(By.ID, "audio-file")
    browser.execute_script("arguments[0].hidden = false", upload)  # a person clicks its label instead
    upload.send_keys(str(clips["hello"]))
    browser.execute_script("arguments[0].hidden = true", upload)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#attachments .chip"), what="the attachment")
    browser.find_element(By.ID, "prompt").send_keys("Transcribe the audio.")
    browser.find_element(By.ID, "send").click()
    bubble = _wait(lambda: _answer_done(browser), what="the answer")
    assert bubble.find_element(By.CSS_SELECTOR, ".text").text == reference
    assert int(bubble.get_attribute("data-chunks")) >= 2  # it streamed in, piece by piece
    assert "prompt tokens (audio included)" in bubble.find_element(By.CSS_SELECTOR, ".meta").text
    assert browser.find_elements(By.CSS_SELECTOR, ".message.user audio")  # the clip can be played back
    assert not browser.find_element(By.ID, "error").is_displayed()

    shot = tmp_path / "llaso-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_page_transcribes_an_upload(server, browser, clips, transcript) -> None:
    from selenium.webdriver.common.by import By

    upload = browser.find_element(By.ID, "audio-file")
    browser.execute_script("arguments[0].hidden = false", upload)
    upload.send_keys(str(clips["hello"]))
    browser.execute_script("arguments[0].hidden = true", upload)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#attachments .chip"), what="the attachment")
    browser.find_element(By.ID, "transcribe").click()
    _wait(lambda: any(m.text == "Whisper transcript" for m in browser.find_elements(By.CSS_SELECTOR, ".meta")),
          what="the transcript")
    bubble = browser.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]
    assert bubble.find_element(By.CSS_SELECTOR, ".text").text == transcript
    assert not browser.find_elements(By.CSS_SELECTOR, "#attachments .chip")


def test_page_records_from_the_microphone(server, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    record = browser.find_element(By.ID, "record")
    record.click()
    _wait(lambda: record.get_attribute("aria-pressed") == "true", what="recording to start")
    time.sleep(1.5)
    record.click()
    chip = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#attachments .chip"), what="the recording")
    assert "recording" in chip[0].text
    before = len(browser.find_elements(By.CSS_SELECTOR, ".message.assistant"))
    browser.find_element(By.ID, "prompt").send_keys("What do you hear?")
    browser.find_element(By.ID, "send").click()
    _wait(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".message.assistant")) > before and _answer_done(browser),
          what="the answer to the recording")
    assert not browser.find_element(By.ID, "error").is_displayed(), browser.find_element(By.ID, "error").text
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []  # no script errors, no blocked (CSP) loads
    shot = tmp_path / "llaso-page-conversation.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
