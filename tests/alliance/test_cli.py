"""`fangzhi alliance add|list|harvest|remove` and `fangzhi rebuild` with harvested records."""
import json

from click.testing import CliRunner

from tests.alliance.providers import Source, hostile_app, pyoai_app
from tests.helpers import serving
from web.cli import main


def run(env, *args):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_alliance_commands(tmp_path):
    env = {"FANGZHI_DATA_DIR": str(tmp_path), "FANGZHI_ALLIANCE_TIMEOUT": "1", "FANGZHI_ALLIANCE_ATTEMPTS": "1"}
    source = Source()
    source.put("oai:x:1", title="锡山文献", creator="某人", date="1900")
    with serving(pyoai_app(source)) as good, serving(hostile_app("bomb")) as bad:
        assert run(env, "alliance", "add", "east", "--oai", f"{good}/cgi/oai2", "--label-zh", "东馆",
                   "--label-en", "East", "--token", "fzt_secret")[0] == 0
        assert run(env, "alliance", "add", "bad", "--oai", f"{bad}/oai")[0] == 0
        code, out = run(env, "alliance", "add", "east", "--oai", f"{good}/cgi/oai2")
        assert code == 1 and "already exists" in out
        code, out = run(env, "alliance", "add", "Bad Name", "--oai", f"{good}/cgi/oai2")
        assert code == 1 and "lower-case" in out
        code, out = run(env, "alliance", "harvest")
    assert code == 1  # one member failed
    assert "east             ok     1 records" in out and "bad              FAILED" in out and "DTD or entities" in out
    code, out = run(env, "alliance", "list", "--json")
    listed = {m["name"]: m for m in json.loads(out)}
    assert listed["east"]["records"] == 1 and listed["east"]["has_token"] and "fzt_secret" not in out
    assert "DTD or entities" in listed["bad"]["error"] and listed["bad"]["api_url"].endswith(bad.rsplit(":", 1)[1])
    code, out = run(env, "alliance", "list")
    assert code == 0 and "东馆 / East" in out and "error: the answer declares a DTD" in out
    code, out = run(env, "search", "锡山文献", "--json")
    assert "锡山文献" in out
    (tmp_path / "index").rename(tmp_path / "index-gone")  # the union catalogue comes back from storage
    assert run(env, "rebuild")[0] == 0
    assert "锡山文献" in run(env, "search", "锡山文献", "--json")[1]
    assert run(env, "alliance", "remove", "east") == (0, "removed member east\n")
    assert "锡山文献" not in run(env, "search", "锡山文献", "--json")[1]
    code, out = run(env, "alliance", "remove", "east")
    assert code == 1 and "no member east" in out
