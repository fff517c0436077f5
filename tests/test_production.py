import json
from pathlib import Path

from lpsflow.production import ensemble_models


def _manifest(tmp_path, models):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"models": models}))
    return path


def test_ensemble_lists_each_member_once(tmp_path):
    """The compressed copy of member 0 replaces it: 4 members give 4 distinct models."""
    files = [f"graph_{m}.pb" for m in range(4)] + [f"input_{m}.json" for m in range(4)]
    models = ensemble_models(_manifest(tmp_path, files + ["graph_0_compressed.pb"]))
    names = [Path(m).name for m in models]
    assert names == ["graph_0_compressed.pb", "graph_1.pb", "graph_2.pb", "graph_3.pb"]
    assert "graph_0.pb" not in names


def test_ensemble_without_compression(tmp_path):
    models = ensemble_models(_manifest(tmp_path, ["graph_0.pb", "graph_1.pb", "input_0.json"]))
    assert [Path(m).name for m in models] == ["graph_0.pb", "graph_1.pb"]
