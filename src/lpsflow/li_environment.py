"""Which anion units surround each Li+, how fast Li+ moves in each surrounding, and whether the
units of a run survive it; also which formal charges the collective conductivity may use.

The anion units come from :func:`lpsflow.anions.classify_phosphorus` (bond topology with the
cutoffs of :data:`lpsflow.anions.BOND_CUTOFFS`); nothing here classifies units a second way.

**S classes** (:data:`S_CLASSES`), from the type of the P each S is bound to:
``PS4`` (ortho PS4 3-), ``P2S7_terminal`` and ``P2S7_bridging`` (pyro P2S7 4-),
``P2S6_hypo`` (ethane-like P2S6 4-, P-P bonded, P(IV)), ``P2S6_edge`` (edge-sharing meta
P2S6 2-, its terminal and ring S), ``S2-`` (bound to neither P nor S), ``S-S`` (bound to S
but to no P: polysulfide or elemental sulfur) and ``other`` (S of larger or defective units,
or shared between units of different types).

**Li environment** of one Li in one frame: the S class that most of its first-shell S
(within ``li_s_cutoff``, default :data:`lpsflow.glass_structure.LI_S_CUTOFF` = 3.0 angstrom)
belong to; ``mixed`` when two classes tie, ``none`` when no S is that close.

**Mobility per environment** (:class:`EnvironmentOverTime`, streamed frame by frame):

* squared displacement of each Li over lags of ``lags`` frames, conditioned on its
  environment at the time origin (every frame is an origin), averaged per environment;
  ``D_eff = <dr^2> / (6 t)`` (cm^2/s) at each lag. This is a displacement over a finite lag,
  not a long-time diffusion coefficient: at short lags it measures rattling, at lags of the
  transport fit window it approaches D;
* exit rate of each environment (changes of the Li's environment per ps spent in it) and the
  mean residence time (ps), its inverse (total time in the environment over the number of
  exits, the estimate that counts runs cut by the start and end of the trajectory correctly);
  thermal vibration across the cutoff counts as an exit, so residence times are lower bounds
  of the time a Li stays at one site;
* 95 % intervals by bootstrap over Li ions (``n_boot`` resamples of whole Li trajectories,
  percentile intervals): a mean of squared displacements or of counts, hence never negative.
  ``p_faster`` gives, for each environment, the bootstrap fraction in which its mean squared
  displacement at the longest lag exceeds that of PS4 (paired: the same resampled Li).

**Units over time**: per frame the fraction of P in each unit type
(:data:`lpsflow.anions.P_UNIT_TYPES`), the fraction of S in each S class and of Li in each
environment; first and last third of the run compared as in
:class:`lpsflow.glass_structure.StructureOverTime` (``units_changed`` when a P fraction moves
by more than :data:`lpsflow.glass_structure.UNIT_CHANGE_LIMIT`).

**Charges of the collective conductivity** (issue 23.4; decision: ``lpsflow.transport`` keeps
the ionic formal charges of the elements, P +5, S -2, Li +1; :func:`charge_check` reports per
run whether that is exact). The collective sigma is the slope of <|Q(t) - Q(0)|^2> with
Q(t) - Q(0) = sum_i q_i dr_i(t). Write each atom's displacement as that of the centre of its
unit plus an intra-unit part: dr_i = dR_U + du_i, where |du_i| stays below the unit's size
while the unit is intact (vibration, rotation). Then Q(t) - Q(0) = sum_U q_U dR_U + (bounded),
with q_U the net charge of unit U; the bounded term adds a constant to the charge MSD and a
cross term growing at most like sqrt(t), so the long-time slope, and sigma, depend only on the
net charges of units that stay intact, not on how a unit's charge is split among its atoms
(tested: moving charge between the P and S of moving PS4 units leaves sigma unchanged).
A per-atom constant shift does change sigma in general (sum_i dr_i is not conserved); only a
shift proportional to mass cancels, through the conserved total momentum.

* For units of P(V) only (PS4 3-, P2S7 4-, edge P2S6 2-) and S 2-, element charges give
  every unit its correct net charge (PS4: 5 - 8 = -3, P2S7: 10 - 14 = -4, P2S6: 10 - 12 = -2),
  so sigma is exact at the formal-charge level. The composition series and the speciation
  series of ``config/units.yaml`` hold only these units.
* A hypo P2S6 4- (P(IV), charge -4 from P +4) gets -2 from element charges, and the elemental
  S0 each hypo unit leaves (:mod:`lpsflow.stoichiometry`) gets -2 instead of 0: element
  charges move 2 e from the hypo unit onto that S atom. The sigma differs only through the
  motion of these two: while the anion framework does not diffuse (a glass below its glass
  transition; ``p_rms_displacement_A`` of structure.json says whether it flowed), neither
  enters the slope and sigma is unchanged; where the S0 atom diffuses (an isolated S is as
  mobile as S 2-), element charges overstate its current.
* Unit-aware charges per atom (:func:`topology_charges`: P +5 minus its P-P bonds, S -2 plus
  its S-S bonds) give P(IV) +4 and S-S bonded S its share, but they cannot tell an isolated
  S0 from S 2- (``lpsflow.amorphous`` places both as single S atoms), so in a hypo cell they
  do not sum to zero; and once units react during a run, per-atom charges change with time
  and sum_i q_i r_i no longer defines a displacement (the current would need the charge
  transfer). That is why transport keeps element charges, documented in environment.json by
  :func:`charge_check`, which lists the units whose net charge differs between the two
  assignments in the first and last frame of each run.

Units: angstrom, ps, cm^2/s, e.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.neighborlist import neighbor_list

from lpsflow.anions import P_UNIT_TYPES, _components, bond_graph, classify_phosphorus
from lpsflow.glass_structure import LI_S_CUTOFF, UNIT_CHANGE_LIMIT, read_dcd_frames
from lpsflow.transport import FORMAL_CHARGES

#: classes of S by the unit its P belongs to (see module docstring)
S_CLASSES = (
    "PS4",
    "P2S7_terminal",
    "P2S7_bridging",
    "P2S6_hypo",
    "P2S6_edge",
    "S2-",
    "S-S",
    "other",
)
#: Li environments: the majority S class of the first shell, or a tie, or no S in the shell
ENVIRONMENTS = (*S_CLASSES, "mixed", "none")
A2_PER_PS_TO_CM2_PER_S = 1e-4
HALIDES = ("F", "Cl", "Br", "I")


# ---------------------------------------------------------------------------- one frame
def s_classes(atoms: Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S class of every atom ('' for atoms that are not S), with the P indices and P types.

    ``atoms`` must be wrapped into its cell or periodic; returns ``(s_class, p_index,
    p_type)`` where ``p_type`` comes from :func:`lpsflow.anions.classify_phosphorus`.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    p_index, p_type, s_p_count = classify_phosphorus(atoms)
    type_of = dict(zip(p_index.tolist(), p_type, strict=True))
    i, j = bond_graph(atoms)
    s = symbols == "S"
    bound_p: dict[int, set] = {}
    s_s = np.zeros(len(atoms), dtype=bool)
    for a, b in zip(i, j, strict=True):
        if not s[a]:
            continue
        if symbols[b] == "P":
            bound_p.setdefault(int(a), set()).add(type_of[int(b)])
        elif s[b]:
            s_s[a] = True
    out = np.full(len(atoms), "", dtype=object)
    for a in np.flatnonzero(s):
        kinds = bound_p.get(int(a))
        if not kinds:
            out[a] = "S-S" if s_s[a] else "S2-"
            continue
        kind = next(iter(kinds)) if len(kinds) == 1 else "mixed"
        if kind == "PS4":
            out[a] = "PS4"
        elif kind == "P2S7":
            out[a] = "P2S7_bridging" if s_p_count[a] >= 2 else "P2S7_terminal"
        elif kind in ("P2S6_hypo", "P2S6_edge"):
            out[a] = kind
        else:
            out[a] = "other"
    return out, p_index, p_type


def li_shell_counts(
    atoms: Atoms, s_class: np.ndarray, li_s_cutoff: float = LI_S_CUTOFF
) -> np.ndarray:
    """First-shell S of every Li by class: array (n_li x len(S_CLASSES)) of counts, Li in
    the order they appear in ``atoms``; S within ``li_s_cutoff`` angstrom."""
    symbols = np.array(atoms.get_chemical_symbols())
    li = np.flatnonzero(symbols == "Li")
    counts = np.zeros((len(li), len(S_CLASSES)), dtype=int)
    if not len(li) or not (symbols == "S").any():
        return counts
    i, j = neighbor_list("ij", atoms, {("Li", "S"): li_s_cutoff})
    mask = (symbols[i] == "Li") & (symbols[j] == "S")
    row = np.searchsorted(li, i[mask])
    col = np.array([S_CLASSES.index(c) for c in s_class[j[mask]]], dtype=int)
    np.add.at(counts, (row, col), 1)
    return counts


def li_environments(counts: np.ndarray) -> np.ndarray:
    """Environment index (into :data:`ENVIRONMENTS`) of each Li from its shell counts."""
    top = counts.max(axis=1)
    n_top = (counts == top[:, None]).sum(axis=1)
    env = counts.argmax(axis=1)
    env = np.where(n_top > 1, ENVIRONMENTS.index("mixed"), env)
    return np.where(top == 0, ENVIRONMENTS.index("none"), env)


def frame_environment(atoms: Atoms, li_s_cutoff: float = LI_S_CUTOFF) -> dict:
    """One frame: S class per atom, P type per P, Li shell counts and environment per Li, and
    the fractions of P per unit type, S per class and Li per environment."""
    wrapped = atoms.copy()
    wrapped.wrap()
    s_class, p_index, p_type = s_classes(wrapped)
    counts = li_shell_counts(wrapped, s_class, li_s_cutoff)
    env = li_environments(counts)
    n_p, n_s, n_li = len(p_index), int((s_class != "").sum()), len(env)
    return {
        "s_class": s_class,
        "p_type": p_type,
        "li_counts": counts,
        "li_env": env,
        "p_fraction": {k: float(np.sum(p_type == k) / n_p) if n_p else 0.0 for k in P_UNIT_TYPES},
        "s_fraction": {k: float(np.sum(s_class == k) / n_s) if n_s else 0.0 for k in S_CLASSES},
        "li_fraction": {
            k: float(np.sum(env == e) / n_li) if n_li else 0.0 for e, k in enumerate(ENVIRONMENTS)
        },
    }


# ---------------------------------------------------------------------------- a run
def default_lags(n_frames: int, longest_fraction: float = 0.2) -> list[int]:
    """Lags (frames) 1, 2, 4, ... up to ``longest_fraction`` of the run (at least lag 1): the
    longest matches the end of the transport fit window (:data:`lpsflow.transport.FIT_WINDOW`)."""
    top = max(1, int(longest_fraction * (n_frames - 1)))
    lags = [1]
    while lags[-1] * 2 <= top:
        lags.append(lags[-1] * 2)
    if lags[-1] != top:
        lags.append(top)
    return lags


class EnvironmentOverTime:
    """Li environments, mobility per environment and unit fractions of a run, streamed.

    Set up with the frame interval ``timestep_ps`` (ps) and the ``lags`` (frames) of the
    conditioned displacement; :meth:`add` frames in order (unwrapped positions, the same atoms
    in the same order, fixed or changing cell); :meth:`results` concludes. Memory: the Li
    positions of the last max(lags) frames and per-Li sums, not the trajectory.
    """

    def __init__(
        self,
        timestep_ps: float,
        lags: Sequence[int],
        li_s_cutoff: float = LI_S_CUTOFF,
        n_boot: int = 1000,
        seed: int = 0,
    ):
        if timestep_ps <= 0 or not lags or min(lags) < 1:
            raise ValueError("need timestep_ps > 0 and lags >= 1 frame")
        self.dt = float(timestep_ps)
        self.lags = sorted({int(k) for k in lags})
        self.cutoff = li_s_cutoff
        self.n_boot, self.seed = n_boot, seed
        self.buffer: deque = deque(maxlen=max(self.lags))
        self.n_frames = 0
        self.series: list[dict] = []
        self.first_types: np.ndarray | None = None
        self.last_types: np.ndarray | None = None

    def _start(self, n_li: int) -> None:
        n_env, n_lag = len(ENVIRONMENTS), len(self.lags)
        self.n_li = n_li
        self.sd_sum = np.zeros((n_lag, n_li, n_env))  # angstrom^2
        self.sd_n = np.zeros((n_lag, n_li, n_env))
        self.time_in = np.zeros((n_li, n_env))  # frames
        self.exits = np.zeros((n_li, n_env))
        self.previous: np.ndarray | None = None

    def add(self, atoms: Atoms) -> None:
        one = frame_environment(atoms, self.cutoff)
        li = np.array(atoms.get_chemical_symbols()) == "Li"
        pos = atoms.positions[li].astype(np.float64)
        env = one["li_env"]
        if self.n_frames == 0:
            self._start(len(env))
            self.first_types = one["p_type"]
        elif len(env) != self.n_li:
            raise ValueError(f"frame {self.n_frames}: {len(env)} Li, first frame {self.n_li}")
        rows = np.arange(self.n_li)
        for k, lag in enumerate(self.lags):  # origins lag frames back
            if lag <= len(self.buffer):
                pos0, env0 = self.buffer[-lag]
                sd = np.sum((pos - pos0) ** 2, axis=1)
                np.add.at(self.sd_sum[k], (rows, env0), sd)
                np.add.at(self.sd_n[k], (rows, env0), 1.0)
        if self.previous is not None:  # residence: a frame interval spent in the old env
            np.add.at(self.time_in, (rows, self.previous), 1.0)
            moved = env != self.previous
            np.add.at(self.exits, (rows[moved], self.previous[moved]), 1.0)
        self.previous = env
        self.buffer.append((pos, env))
        self.last_types = one["p_type"]
        row = {"frame": self.n_frames, "time_ps": self.n_frames * self.dt}
        row.update({f"p_{k}": v for k, v in one["p_fraction"].items()})
        row.update({f"s_{k}": v for k, v in one["s_fraction"].items()})
        row.update({f"li_{k}": v for k, v in one["li_fraction"].items()})
        self.series.append(row)
        self.n_frames += 1

    def _boot_weights(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        picks = rng.integers(0, self.n_li, size=(self.n_boot, self.n_li))
        w = np.zeros((self.n_boot, self.n_li))
        np.add.at(w, (np.repeat(np.arange(self.n_boot), self.n_li), picks.ravel()), 1.0)
        return w

    def results(self) -> dict:
        """Mobility per environment (table rows), residence, unit fractions over time and their
        change; see the module docstring for every quantity and its units."""
        if self.n_frames < 2:
            raise ValueError("need at least two frames")
        w = self._boot_weights()
        mobility = []
        boot_longest: dict[str, np.ndarray] = {}
        for k, lag in enumerate(self.lags):
            total, n = self.sd_sum[k].sum(axis=0), self.sd_n[k].sum(axis=0)
            b_total, b_n = w @ self.sd_sum[k], w @ self.sd_n[k]
            t_ps = lag * self.dt
            for e, name in enumerate(ENVIRONMENTS):
                if n[e] == 0:
                    continue
                with np.errstate(invalid="ignore", divide="ignore"):
                    boot = b_total[:, e] / b_n[:, e]
                boot = boot[np.isfinite(boot)]
                lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
                msd = total[e] / n[e]
                to_d = A2_PER_PS_TO_CM2_PER_S / (6.0 * t_ps)
                mobility.append(
                    {
                        "environment": name,
                        "lag_frames": lag,
                        "lag_ps": t_ps,
                        "n_origins": int(n[e]),
                        "n_li": int(np.sum(self.sd_n[k][:, e] > 0)),
                        "msd_A2": float(msd),
                        "msd_lo_A2": float(lo),
                        "msd_hi_A2": float(hi),
                        "D_eff_cm2_s": float(msd * to_d),
                        "D_eff_lo_cm2_s": float(lo * to_d),
                        "D_eff_hi_cm2_s": float(hi * to_d),
                    }
                )
                if lag == self.lags[-1]:
                    boot_longest[name] = b_total[:, e] / np.where(b_n[:, e] > 0, b_n[:, e], np.nan)
        residence = []
        b_time, b_exit = w @ self.time_in, w @ self.exits
        for e, name in enumerate(ENVIRONMENTS):
            t_in = self.time_in[:, e].sum()
            if t_in == 0:
                continue
            n_exit = self.exits[:, e].sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                rate_b = b_exit[:, e] / (b_time[:, e] * self.dt)
            rate_b = rate_b[np.isfinite(rate_b)]
            lo, hi = np.percentile(rate_b, [2.5, 97.5]) if len(rate_b) else (np.nan, np.nan)
            rate = n_exit / (t_in * self.dt)
            residence.append(
                {
                    "environment": name,
                    "time_fraction": float(t_in / self.time_in.sum()),
                    "exits": int(n_exit),
                    "exit_rate_per_ps": float(rate),
                    "exit_rate_lo_per_ps": float(lo),
                    "exit_rate_hi_per_ps": float(hi),
                    "residence_ps": float(1.0 / rate) if rate > 0 else float("inf"),
                    "residence_lo_ps": float(1.0 / hi) if hi > 0 else float("inf"),
                    "residence_hi_ps": float(1.0 / lo) if lo > 0 else float("inf"),
                }
            )
        p_faster = {}
        if "PS4" in boot_longest:
            ref = boot_longest["PS4"]
            for name, b in boot_longest.items():
                if name != "PS4":
                    ok = np.isfinite(b) & np.isfinite(ref)
                    p_faster[name] = float(np.mean(b[ok] > ref[ok])) if ok.any() else float("nan")
        series = pd.DataFrame(self.series)
        third = max(1, self.n_frames // 3)
        cols = [f"p_{k}" for k in P_UNIT_TYPES]
        first = series[cols].iloc[:third].mean()
        last = series[cols].iloc[-third:].mean()
        change = float((last - first).abs().max())
        t0, t1 = self.first_types, self.last_types
        return {
            "n_frames": self.n_frames,
            "timestep_ps": self.dt,
            "n_li": self.n_li,
            "li_s_cutoff_A": self.cutoff,
            "lags_frames": self.lags,
            "n_boot": self.n_boot,
            "mobility": mobility,
            "residence": residence,
            "p_faster_than_PS4": p_faster,
            "ordering_longest_lag": ordering(mobility, self.lags[-1]),
            "p_fraction_first": {k[2:]: float(v) for k, v in first.items()},
            "p_fraction_last": {k[2:]: float(v) for k, v in last.items()},
            "unit_change": change,
            "units_changed": bool(change > UNIT_CHANGE_LIMIT),
            "p_switched_fraction": float(np.mean(t0 != t1)) if len(t0) else 0.0,
            "series": series,
        }


def ordering(mobility: list[dict], lag_frames: int) -> list[str]:
    """Environments at lag ``lag_frames``, fastest first (by mean squared displacement)."""
    rows = [r for r in mobility if r["lag_frames"] == lag_frames]
    return [r["environment"] for r in sorted(rows, key=lambda r: -r["msd_A2"])]


def analyse_run(frames: Iterable[Atoms], timestep_ps: float, lags: Sequence[int], **kw) -> dict:
    """:meth:`EnvironmentOverTime.results` of a sequence or iterator of frames (ase.Atoms)."""
    acc = EnvironmentOverTime(timestep_ps, lags, **kw)
    for atoms in frames:
        acc.add(atoms)
    return acc.results()


def analyse_dcd(
    path: str,
    start: Atoms,
    timestep_ps: float,
    longest_lag_fraction: float,
    *,
    composition: str,
    replica: int,
    temperature_k: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """One production run's all-atom DCD (``start``: the run's start structure, which gives the
    elements in atom order; frames every ``timestep_ps``): environment results with lags from
    :func:`default_lags` up to ``longest_lag_fraction`` of the run, and :func:`charge_check`
    of the first and last frame. Returns ``summary`` (JSON-ready, the run's keys included),
    ``series`` (unit fractions per frame) and ``mobility`` (per environment and lag) tables.
    """
    from MDAnalysis.coordinates.DCD import DCDReader  # the reader layer's library

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        reader = DCDReader(str(path))
        n_frames = reader.n_frames
        reader.close()
    run = {
        "composition": composition,
        "replica": int(replica),
        "temperature_K": float(temperature_k),
    }
    if n_frames < 2:  # a run that failed at once: said, not raised (the workflow goes on)
        note = f"{n_frames} frame(s) in {path}: no environment analysis"
        summary = {**run, "n_frames": n_frames, "note": note, "mobility": [], "residence": []}
        return {"summary": summary, "series": pd.DataFrame(), "mobility": pd.DataFrame()}
    acc = EnvironmentOverTime(
        timestep_ps, default_lags(n_frames, longest_lag_fraction), n_boot=n_boot, seed=seed
    )
    first = last = None
    for atoms in read_dcd_frames(path, start):
        acc.add(atoms)
        first = atoms if first is None else first
        last = atoms
    out = acc.results()
    series = out.pop("series")
    summary = {
        **run,
        **out,
        "note": "",
        "charges": {
            "first": charge_check(first, FORMAL_CHARGES),
            "last": charge_check(last, FORMAL_CHARGES),
        },
    }
    return {"summary": summary, "series": series, "mobility": pd.DataFrame(out["mobility"])}


# ---------------------------------------------------------------------------- charges
def topology_charges(atoms: Atoms) -> np.ndarray:
    """Formal oxidation numbers (e) per atom from the bond graph: Li +1, halide -1,
    P +5 minus its P-P bonds (hypo P(IV): +4), S and O -2 plus their S-S (O-O) bonds
    (S2 2-: -1 each, S in a ring of S0: 0). Isolated S counts as S 2- (see module docstring:
    the sum is not zero when a cell holds isolated S0)."""
    symbols = np.array(atoms.get_chemical_symbols())
    q = np.zeros(len(atoms))
    q[symbols == "Li"] = 1.0
    q[np.isin(symbols, HALIDES)] = -1.0
    q[symbols == "P"] = 5.0
    q[np.isin(symbols, ("S", "O"))] = -2.0
    i, j = bond_graph(atoms)
    for a, b in zip(i, j, strict=True):  # each bond appears in both directions
        if symbols[a] == "P" and symbols[b] == "P":
            q[a] -= 1.0
        elif symbols[a] in ("S", "O") and symbols[b] in ("S", "O"):
            q[a] += 1.0
    return q


def unit_net_charges(atoms: Atoms, charges: np.ndarray) -> dict[str, list[float]]:
    """Net charge (e) of every bonded unit that holds P or S, by unit formula (as
    :func:`lpsflow.anions.find_units` names them, hypo units with '(P-P)')."""
    symbols = np.array(atoms.get_chemical_symbols())
    i, j = bond_graph(atoms)
    label = _components(len(atoms), i, j)
    pp = {int(a) for a, b in zip(i, j, strict=True) if symbols[a] == "P" == symbols[b]}
    out: dict[str, list[float]] = {}
    for comp in np.unique(label):
        members = np.flatnonzero(label == comp)
        syms = list(symbols[members])
        if not {"P", "S"} & set(syms):
            continue
        name = "".join(
            f"{el}{syms.count(el) if syms.count(el) > 1 else ''}"
            for el in ("P", "S", "O")
            if el in syms
        ) + ("(P-P)" if pp & set(members.tolist()) else "")
        out.setdefault(name, []).append(float(np.sum(charges[members])))
    return out


def charge_check(atoms: Atoms, element_charges: dict[str, float]) -> dict:
    """Element formal charges (``element_charges``, e.g. lpsflow.transport.FORMAL_CHARGES)
    against :func:`topology_charges` in one structure: the units whose net charge differs,
    the net charge of each assignment, and ``element_charges_exact`` (no unit differs)."""
    wrapped = atoms.copy()
    wrapped.wrap()
    symbols = wrapped.get_chemical_symbols()
    q_el = np.array([element_charges[s] for s in symbols], float)
    q_top = topology_charges(wrapped)
    by_el, by_top = unit_net_charges(wrapped, q_el), unit_net_charges(wrapped, q_top)
    differ = {
        name: {"element": by_el[name][0], "topology": by_top[name][0], "count": len(by_el[name])}
        for name in by_el
        if not np.allclose(by_el[name], by_top[name])
    }
    return {
        "element_charges_exact": not differ,
        "units_differing": differ,
        "element_net_e": float(q_el.sum()),
        "topology_net_e": float(q_top.sum()),
    }


# ---------------------------------------------------------------------------- tables
def mobility_table(runs: Sequence[dict], lag: str = "longest") -> pd.DataFrame:
    """Per run and environment: D_eff with its 95 % interval at the run's longest lag, time
    fraction and residence time; ``runs`` are environment.json contents with the wildcards
    (composition, replica, temperature_K). What the report and docs/findings.md tabulate."""
    rows = []
    for run in runs:
        if not run["mobility"]:
            continue  # a run too short to analyse (its note says why)
        longest = max(run["lags_frames"])
        res = {r["environment"]: r for r in run["residence"]}
        for m in run["mobility"]:
            if m["lag_frames"] != longest:
                continue
            r = res.get(m["environment"], {})
            rows.append(
                {
                    "composition": run["composition"],
                    "replica": run["replica"],
                    "temperature_K": run["temperature_K"],
                    "environment": m["environment"],
                    "lag_ps": m["lag_ps"],
                    "D_eff_cm2_s": m["D_eff_cm2_s"],
                    "D_eff_lo_cm2_s": m["D_eff_lo_cm2_s"],
                    "D_eff_hi_cm2_s": m["D_eff_hi_cm2_s"],
                    "n_li": m["n_li"],
                    "time_fraction": r.get("time_fraction", np.nan),
                    "residence_ps": r.get("residence_ps", np.nan),
                    "residence_lo_ps": r.get("residence_lo_ps", np.nan),
                    "residence_hi_ps": r.get("residence_hi_ps", np.nan),
                    "p_faster_than_PS4": run["p_faster_than_PS4"].get(m["environment"], np.nan),
                }
            )
    return pd.DataFrame(rows)


def units_table(runs: Sequence[dict]) -> pd.DataFrame:
    """Per run: P fraction per unit type in the first and last third, the largest change,
    whether the units changed, and whether element charges were exact (first/last frame)."""
    rows = []
    for run in runs:
        row = {k: run[k] for k in ("composition", "replica", "temperature_K")}
        if "p_fraction_first" not in run:
            rows.append({**row, "note": run.get("note", "")})
            continue
        for k in P_UNIT_TYPES:
            row[f"first_{k}"] = run["p_fraction_first"][k]
            row[f"last_{k}"] = run["p_fraction_last"][k]
        row.update(
            unit_change=run["unit_change"],
            units_changed=run["units_changed"],
            p_switched_fraction=run["p_switched_fraction"],
            element_charges_exact=all(c["element_charges_exact"] for c in run["charges"].values()),
            note=run.get("note", ""),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def environment_report(mobility: pd.DataFrame, units: pd.DataFrame) -> dict:
    """What the report shows from :func:`mobility_table` and :func:`units_table` outputs:
    ``mobility`` (per run and environment that held Li: D_eff with its 95 % interval at the
    run's longest lag, time fraction, residence time, bootstrap P(faster than PS4)),
    ``units`` (P fractions first and last third), ``changed`` (runs whose units changed, as
    text) and ``figure`` (matplotlib Figure of D_eff per environment, or None)."""
    from matplotlib.figure import Figure  # object API: no pyplot state, no backend choice

    mob = mobility[mobility["n_li"] > 0].copy() if len(mobility) else mobility
    changed = [
        f"{r.composition} replica {r.replica} at {r.temperature_K:g} K"
        f" (largest P-fraction change {r.unit_change:.2f})"
        for r in units.itertuples()
        if getattr(r, "units_changed", 0) == 1  # runs without analysis: NaN
    ]
    figure = None
    if len(mob):
        envs = [e for e in ENVIRONMENTS if e in set(mob["environment"])]
        figure = Figure(figsize=(7.5, 4))
        ax = figure.add_subplot()
        runs = list(mob.groupby(["composition", "temperature_K", "replica"]))
        for k, ((comp, temp, rep), df) in enumerate(runs):
            x = np.array([envs.index(e) for e in df["environment"]]) + 0.8 * (
                k / max(len(runs), 1) - 0.4
            )
            y = df["D_eff_cm2_s"].to_numpy()
            err = [y - df["D_eff_lo_cm2_s"].to_numpy(), df["D_eff_hi_cm2_s"].to_numpy() - y]
            ax.errorbar(x, y, yerr=err, fmt="o", ms=3, capsize=2, label=f"{comp} r{rep} {temp:g} K")
        ax.set_xticks(range(len(envs)), envs, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set(
            ylabel="D_eff (cm²/s)",
            title="Li displacement per start environment (longest lag; 95 % bootstrap over Li)",
        )
        ax.legend(fontsize=6, ncol=2)
    cols = [c for c in mobility.columns if c not in ("lag_ps",)]
    return {
        "mobility": mob[cols] if len(mob) else mob,
        "units": units,
        "changed": changed,
        "figure": figure,
    }
