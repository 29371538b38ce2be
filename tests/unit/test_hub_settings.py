"""The rendered hub config loaded by JupyterHub's own classes: every option is one
they recognise, and the retry range of a throttled spawn reaches the tornado
settings that the spawn handler reads (handlers/base.py:
``self.settings['spawn_throttle_retry_range']``)."""
import logging
import pathlib
import sys

import pytest
from jupyterhub.app import JupyterHub
from jupyterhub.objects import Hub
from jupyterhub.proxy import ConfigurableHTTPProxy
from test_hub_config import load, render
from traitlets.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "module_utils"))
sys.path.insert(0, str(ROOT / "roles" / "jupyterhub" / "files"))
import coursehub_spawner  # noqa: E402


class FakeUser:
    id = 1
    name = "student1"
    url = "/user/student1/"


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def log():
    """A logger of its own, handed to the app and each configurable: JupyterHub
    configures its own logger's handlers when it starts, so caplog sees nothing."""
    logger = logging.getLogger("coursehub-test-hub-settings")
    logger.propagate = False
    logger.records = Records()
    logger.addHandler(logger.records)
    yield logger
    logger.removeHandler(logger.records)


def hub_app(config, log=None):
    """JupyterHub loading the config, and the tornado settings its init_tornado_settings builds.

    Only what the method reads from a started hub (database, proxy, hub, OAuth,
    event log) is stubbed; the settings dict and its update from
    tornado_settings are JupyterHub's own code."""
    app = JupyterHub(config=config, **({"log": log} if log else {}))
    app.hub = Hub(base_url="/hub/")
    app.db = app.proxy = app.oauth_provider = app.eventlog = None
    app._service_map = {}
    app.init_tornado_settings()
    return app


@pytest.mark.parametrize("retry_range", [[3, 10], [5, 5], [30, 60]])
def test_the_retry_range_reaches_the_spawn_handler_settings(retry_range, monkeypatch, tmp_path):
    config = load(render(jupyterhub_spawn_retry_range=retry_range), monkeypatch, tmp_path)
    app = hub_app(config)
    assert tuple(app.tornado_settings["spawn_throttle_retry_range"]) == tuple(retry_range)
    assert app.tornado_settings["concurrent_spawn_limit"] == 20


def test_no_config_option_is_unrecognised(monkeypatch, tmp_path, log):
    config = load(render(), monkeypatch, tmp_path)
    # The hub's classes load their sections when they are made: the app, its
    # authenticator and proxy (at start), and the spawner (at each spawn).
    app = hub_app(config, log)
    assert app.authenticator.log is log  # made on first use, from c.PAMAuthenticator and c.Authenticator
    coursehub_spawner.CourseSpawner(config=config, user=FakeUser(), log=log)
    ConfigurableHTTPProxy(config=config, app=app, hub=app.hub, public_url="https://127.0.0.1/", log=log)
    unrecognised = [r.getMessage() for r in log.records.records if "not recognized" in r.getMessage()]
    assert unrecognised == []


def test_the_old_spelling_would_be_ignored(log):
    """Why the range goes through tornado_settings: the trait is not configurable
    (and the test above would see the warning the hub logs at every start)."""
    config = Config()
    config.JupyterHub.spawn_throttle_retry_range = (3, 10)
    app = JupyterHub(config=config, log=log)
    assert tuple(app.spawn_throttle_retry_range) == (30, 60)
    assert [r.getMessage() for r in log.records.records] == [
        "Config option `spawn_throttle_retry_range` not recognized by `JupyterHub`."]
