"""The locust users of the deadline rush (``benchmarks/rush.py`` runs them; not meant to be run alone).

- ``Applicant``: one per prepared account, already logged in (its session cookie made beforehand, as after a
  login earlier in the day: sessions last 8 hours). It waits a random moment of the window, autosaves the
  five fields left empty in its dossier one after the other (the whole part posted each time, as the page
  does, with a few seconds of typing between them), then files. Each filing's outcome is written to
  ``RUSH_RESULTS`` so that rush.py can check the database against it.
- ``Login``: one per prepared account, which logs in once (the login form posted with the account's password)
  at a random moment of the window.

Every user comes from its own address (``X-Forwarded-For``, one trusted proxy): login limits are per address.
The run stops as soon as every user is done.
"""

import json
import os
import random
from pathlib import Path

import gevent
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

ACCOUNTS = json.loads(Path(os.environ["RUSH_ACCOUNTS"]).read_text(encoding="utf-8"))
WINDOW = float(os.environ.get("RUSH_WINDOW", "30"))
TYPING = (1.0, 4.0)  # seconds between two autosaves of one applicant
_accounts = iter(ACCOUNTS)
_done: list[int] = []
_filings: dict[str, dict] = {}
_times: dict[str, list[float]] = {}  # request name -> every response time (ms), successes and failures
_errors: dict[str, int] = {}


@events.request.add_listener
def _record(name, response_time, exception, **kwargs):
    _times.setdefault(name, []).append(response_time)
    if exception is not None:
        _errors[name] = _errors.get(name, 0) + 1


def _finished(environment) -> None:
    _done.append(1)
    if len(_done) == len(ACCOUNTS):
        environment.runner.quit()


@events.quitting.add_listener
def _write_results(environment, **kwargs):
    if os.environ.get("RUSH_RESULTS"):
        Path(os.environ["RUSH_RESULTS"]).write_text(
            json.dumps({"filings": _filings, "times": _times, "errors": _errors}), encoding="utf-8")


class Applicant(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.account = next(_accounts, None)

    @task
    def rush(self):
        a = self.account
        if a is None:  # locust replaces a stopped user: one run per account, the extra ones wait for the end
            gevent.sleep(3600)
        self.client.cookies.set("sessionid", a["session"])
        self.client.cookies.set("csrftoken", a["csrf"])
        headers = {"X-CSRFToken": a["csrf"], "HX-Request": "true", "X-Forwarded-For": a["ip"]}
        gevent.sleep(random.uniform(0, WINDOW))
        data = {key: list(values) for key, values in a["posted"].items()}
        for field, value in a["fields"]:
            data[field] = [value]
            with self.client.post(a["section"], data=data, headers=headers, name="autosave",
                                  catch_response=True) as response:
                if response.status_code != 200 or "Enregistr" not in response.text:
                    response.failure(f"autosave: HTTP {response.status_code}")
                elif "fr-message--error" in response.text:
                    response.failure("autosave: a field is reported in error")
            gevent.sleep(random.uniform(*TYPING))
        with self.client.post(a["file"], headers={"X-CSRFToken": a["csrf"], "X-Forwarded-For": a["ip"]},
                              name="filing", allow_redirects=False, catch_response=True) as response:
            ok = response.status_code == 302 and response.headers.get("Location", "") == a["summary"]
            _filings[str(a["dossier"])] = {"ok": ok, "status": response.status_code}
            if not ok:
                response.failure(f"filing: HTTP {response.status_code} {response.headers.get('Location', '')}")
        _finished(self.environment)
        raise StopUser()


class Login(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.account = next(_accounts, None)

    @task
    def login(self):
        a = self.account
        if a is None:
            gevent.sleep(3600)
        self.client.cookies.set("csrftoken", a["csrf"])
        gevent.sleep(random.uniform(0, WINDOW))
        with self.client.post("/comptes/login/", data={"login": a["email"], "password": a["password"],
                                                       "csrfmiddlewaretoken": a["csrf"]},
                              headers={"X-Forwarded-For": a["ip"]}, name="login", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302 or "sessionid" not in response.cookies:
                response.failure(f"login: HTTP {response.status_code}")
        _finished(self.environment)
        raise StopUser()
