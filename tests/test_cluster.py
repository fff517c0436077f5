from lpsflow.cluster import diagnose

LOGS = {
    "rule_label_batch/comp_LPS75_batch_0/101.log": (
        "x\nslurmstepd: error: *** JOB 101 ON vm CANCELLED AT 2026-11-24T06:00:00"
        " DUE TO TIME LIMIT ***\n"
    ),
    "rule_train_model/iter_000_model_1/102.log": (
        "slurmstepd: error: Detected 1 oom_kill event in StepId=102.batch."
        " Some of the step tasks have been OOM Killed.\n"
    ),
    "rule_explore_md/iter_000_comp_LPS75/103.log": "all fine\n",
}


def test_diagnose_time_and_memory(tmp_path):
    for name, text in LOGS.items():
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text(text)
    messages = diagnose(tmp_path)
    assert len(messages) == 2
    assert "101" in messages[0] and "time limit" in messages[0] and "label_batch" in messages[0]
    assert "102" in messages[1] and "memory" in messages[1] and "train_model" in messages[1]
