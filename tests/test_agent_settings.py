"""The agents' settings: one pydantic object read from the environment at the edge and
handed to every run in its LangGraph config; nothing below the edge reads or writes
os.environ."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agents.offline import OfflineAnalyst
from agents.runtime import TwinsightService
from agents.settings import ROLES, AgentSettings, SettingsError
from graph.tools.fixtures import corp_twin

REPO = Path(__file__).resolve().parents[1]
ALERT = REPO / "tests" / "data" / "alerts" / "dcsync_helpdesk1.ocsf.json"


def test_from_env_reads_every_agent_variable():
    s = AgentSettings.from_env({
        "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "TWINSIGHT_MODEL": "m",
        "TWINSIGHT_STRUCTURED_OUTPUT": "json_object_schema", "TWINSIGHT_LLM_ROLES": "path_hunter",
        "TWINSIGHT_LLM_TOOL_ROUNDS": "2", "TWINSIGHT_LLM_TOOLS_PATH_HUNTER": "attack_paths, observed_path",
        "TWINSIGHT_LLM_TOOL_RESULTS": "user", "TWINSIGHT_PRICE_PER_MTOK": "0.1,0.2"})
    assert s.llm.available and s.llm.model == "m" and s.llm.structured == "json_object_schema"
    assert s.roles == {"path_hunter", "lead_analyst"}  # the lead always reasons with the model
    assert s.tool_rounds == 2 and s.tools_of("path_hunter") == ["attack_paths", "observed_path"]
    assert s.llm.tool_results == "user" and (s.llm.price_in, s.llm.price_out) == (0.1, 0.2)
    assert AgentSettings.from_env({}) == AgentSettings()


@pytest.mark.parametrize("env, names", [
    ({"TWINSIGHT_LLM_TOOL_ROUNDS": "many"}, "TWINSIGHT_LLM_TOOL_ROUNDS=many"),
    ({"TWINSIGHT_STRUCTURED_OUTPUT": "xml"}, "TWINSIGHT_STRUCTURED_OUTPUT=xml"),
    ({"TWINSIGHT_PRICE_PER_MTOK": "cheap"}, "TWINSIGHT_PRICE_PER_MTOK=cheap"),
    ({"TWINSIGHT_LLM_ROLES": "lead_analyst,poet"}, "poet"),
    ({"TWINSIGHT_LLM_TOOLS_PATH_HUNTER": "attack_paths,rm_rf"}, "rm_rf"),
    ({"TWINSIGHT_LLM_TOOL_ROUNDS": "99"}, "tool_rounds"),
])
def test_a_bad_setting_is_one_line_naming_it(env, names):
    with pytest.raises(SettingsError) as err:
        AgentSettings.from_env(env)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_the_run_config_carries_the_settings_to_every_stage_and_across_a_resume(twin, tmp_path):
    corp_twin(twin.driver, twin.database)
    seen: list[tuple[str, AgentSettings]] = []

    class Recording(OfflineAnalyst):
        def gather_context(self, st, kit):
            seen.append(("context_gatherer", kit.settings))
            return super().gather_context(st, kit)

        def decide(self, st, kit):
            seen.append(("lead_analyst", kit.settings))
            return super().decide(st, kit)

    mine = AgentSettings(tool_rounds=1, roles=frozenset({"path_hunter"}))
    crash = {"armed": True}

    def fault(stage):
        if stage == "lead_analyst" and crash.pop("armed", False):
            raise RuntimeError("crash before the lead analyst")

    from agents.investigate_cmd import load_alert

    svc = TwinsightService(twin.driver, twin.database, state_dir=tmp_path, analyst=Recording(), fault=fault,
                           settings=mine)
    first = svc.investigate(load_alert(ALERT), investigation_id="inv-settings")
    assert first.status == "failed"
    again = TwinsightService(twin.driver, twin.database, state_dir=tmp_path, analyst=Recording(), settings=mine)
    done = again.investigate({}, investigation_id="inv-settings")
    assert done.status in ("complete", "needs_human_review"), done.error
    assert [r for r, _ in seen] == ["context_gatherer", "lead_analyst"]
    assert all(s == mine for _, s in seen)


def test_replay_takes_the_recordings_settings_without_touching_the_environment(monkeypatch):
    from evals.runner import _analyst

    monkeypatch.setenv("TWINSIGHT_LLM_ROLES", "lead_analyst")  # this process says otherwise:
    monkeypatch.setenv("TWINSIGHT_LLM_TOOL_ROUNDS", "5")  # the recording's settings must win
    before = dict(os.environ)
    _, settings = _analyst("replay", REPO / "evals" / "cassettes" / "smollm2-135m-instruct")
    assert dict(os.environ) == before
    env = json.loads((REPO / "evals" / "cassettes" / "smollm2-135m-instruct" / "model.json").read_text())["env"]
    # the recording's settings, whatever this process's environment says
    assert settings.tool_rounds == int(env["TWINSIGHT_LLM_TOOL_ROUNDS"])
    assert settings.followup_rounds == int(env.get("TWINSIGHT_LLM_FOLLOWUPS", "2"))
    assert settings.llm.tool_results == env.get("TWINSIGHT_LLM_TOOL_RESULTS", "tool")
    assert settings.budget.max_seconds == float(env.get("TWINSIGHT_MAX_SECONDS", "180"))
    assert settings.roles == (frozenset(env["TWINSIGHT_LLM_ROLES"].split(",")) | {"lead_analyst"}
                              if "TWINSIGHT_LLM_ROLES" in env else frozenset(ROLES))
    assert settings.llm.model == "smollm2-135m-instruct" and settings.llm.api_key == "replay-no-key"
