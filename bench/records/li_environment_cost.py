import json, os, subprocess, time, datetime
import numpy as np
from lpsflow.amorphous import pack
from lpsflow.stoichiometry import solve
from lpsflow.li_environment import EnvironmentOverTime, default_lags
load0 = os.getloadavg()
out = {}
for n in (84,):
    t0 = time.perf_counter(); atoms = pack(solve(0.70, n), 1.9, seed=1); print("pack", time.perf_counter() - t0, flush=True)
    rng = np.random.default_rng(0)
    n_frames = 60 if n == 84 else 10
    acc = EnvironmentOverTime(0.02, default_lags(1000), n_boot=1000)
    t = time.perf_counter()
    for _ in range(n_frames):
        f = atoms.copy(); f.positions += rng.normal(0, 0.05, f.positions.shape); acc.add(f)
    per = (time.perf_counter() - t) / n_frames
    t = time.perf_counter(); acc.results(); res = time.perf_counter() - t
    out[n] = {"atoms": len(atoms), "s_per_frame": per, "results_s": res}
rec = {"name": "li_environment_cost", "command": "nice -n 5 .venv/bin/python bench/records/li_environment_cost.py (run from the repository root)",
       "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
       "commit": subprocess.run(["git","rev-parse","HEAD"],capture_output=True,text=True).stdout.strip(),
       "host": os.uname().nodename, "cores": os.cpu_count(), "loadavg_start": load0, "loadavg_end": os.getloadavg(),
       "notes": "EnvironmentOverTime.add per frame on a packed x=0.70 cell (jittered copies), lags of a 1000-frame run; machine shared with other helpers' jobs",
       "figures": out}
json.dump(rec, open("bench/records/li_environment_cost.json","w"), indent=1)
print(json.dumps(rec, indent=1))
