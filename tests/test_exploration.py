from lpsflow.exploration import lammps_input, schedule_jobs, steps_for

SCHEDULE = [
    {"ensemble": "nvt", "temperature": 300},
    {"ensemble": "nvt", "temperature": [1200, 300]},
    {"ensemble": "npt", "temperature": 600, "pressures": [1.0, 1000.0]},
]


def test_schedule_expands_pressures_and_ramps():
    jobs = schedule_jobs(SCHEDULE)
    assert len(jobs) == 4
    assert jobs[1] == {"ensemble": "nvt", "t_start": 1200, "t_end": 300, "pressure": None}
    assert [j["pressure"] for j in jobs[2:]] == [1.0, 1000.0]


def test_steps_grow_then_repeat():
    assert [steps_for(i, [100, 200]) for i in range(4)] == [100, 200, 200, 200]


def test_lammps_input():
    jobs = schedule_jobs(SCHEDULE)
    text = lammps_input(jobs[0], ["/m/0.pb", "/m/1.pb"], ["Li", "P", "S"], 500, 1.0, 10, 7)
    assert "pair_style      deepmd /m/0.pb /m/1.pb out_freq 10 out_file model_devi.out\n" in text
    assert "pair_coeff      * * Li P S" in text
    assert "fix integ all nvt temp 300 300 0.1" in text and "run             500" in text
    assert "dump            traj all custom 10 traj.dump id type x y z" in text
    npt = lammps_input(jobs[3], ["/m/0.pb"], ["Li"], 5, 2.0, 1, 7, relative_level=1.0)
    assert "iso 1000.0 1000.0" in npt and "relative 1.0" in npt and "timestep        0.002" in npt
