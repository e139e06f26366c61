from pathlib import Path

import pytest

from fangzhi import settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("setting", settings.SETTINGS, ids=lambda s: s.name)
def test_readme_documents_every_setting(setting):
    assert f"`FANGZHI_{setting.name}`" in README.read_text(encoding="utf-8")


def test_environment_overrides_defaults_and_is_typed():
    values = settings.load(environ={"FANGZHI_PORT": "8080", "FANGZHI_SITE_NAME": "某馆"})
    assert values["PORT"] == 8080 and values["SITE_NAME"] == "某馆" and values["STORAGE"] == "local"
    with pytest.raises(SystemExit, match="FANGZHI_PORT='eighty'"):
        settings.load(environ={"FANGZHI_PORT": "eighty"})
    with pytest.raises(KeyError):
        settings.load({"NO_SUCH": 1}, environ={})
