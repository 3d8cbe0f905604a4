"""The synthetic generator's motion programs: one per UTD-MHAD action (private).

A program is a list of keyframes over normalised time ``u`` in ``[0, 1]`` (joint angles in
degrees, unspecified ones at rest) joined by minimum-jerk (quintic) blends, plus optional
windowed sine waves for repetitive motion. Every piece has zero velocity and acceleration at
its ends, so joint angles are twice continuously differentiable in time, as the physical IMU
derivation needs. Angles are those of `mmcontrast.data._body`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from mmcontrast.data._body import DOFS, REST

__all__ = ["PROGRAMS", "Program", "Wave", "evaluate_angles", "minimum_jerk"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Wave:
    """``amplitude * envelope(u) * sin(2 pi cycles (u - start) / (stop - start) + phase)``."""

    dof: str
    amplitude: float
    cycles: float
    phase: float = 0.0
    window: tuple[float, float] = (0.15, 0.85)


@dataclass(frozen=True)
class Program:
    """A motion: base duration (s), keyframes, waves, and whether the right foot is planted."""

    duration: float
    keys: tuple[tuple[float, Mapping[str, float]], ...]
    waves: tuple[Wave, ...] = ()
    planted: bool = False
    values: Array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = np.tile(REST, (len(self.keys), 1))
        for row, (_, pose) in enumerate(self.keys):
            for name, value in pose.items():
                table[row, DOFS.index(name)] = value
        object.__setattr__(self, "values", table)


def minimum_jerk(tau: Array) -> Array:
    """``10 tau^3 - 15 tau^4 + 6 tau^5`` on ``[0, 1]``: zero velocity and acceleration at ends."""
    tau = np.clip(tau, 0.0, 1.0)
    return np.asarray(tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2))


def evaluate_angles(
    program: Program,
    phase: Array,
    amplitude: Array,
    *,
    values: Array | None = None,
    stops: Array | None = None,
) -> Array:
    """Angles ``"... n t d"`` at normalised times ``phase`` ``"... n t"``.

    Deviations from rest (keyframes and waves) are multiplied by ``amplitude`` ``"n 1"``.
    ``values`` ``"n k d"`` and ``stops`` ``"n k"`` replace the program's keyframe values and
    times per sequence (the generator jitters both per trial); stops must increase.
    """
    count = phase.shape[-2]
    table = np.broadcast_to(
        program.values if values is None else values, (count, *program.values.shape)
    )
    default = np.array([key for key, _ in program.keys])
    times = np.broadcast_to(default if stops is None else stops, (count, default.size))
    row = np.arange(count)[:, None]
    segment = np.zeros(phase.shape, dtype=np.int64)
    for column in range(1, default.size - 1):
        segment += phase >= times[:, column : column + 1]
    start_time, stop_time = times[row, segment], times[row, segment + 1]
    blend = minimum_jerk((phase - start_time) / (stop_time - start_time))[..., None]
    start, stop = table[row, segment], table[row, segment + 1]
    angles = REST + (start + (stop - start) * blend - REST) * amplitude[..., None]
    for wave in program.waves:
        low, high = wave.window
        ramp = min(0.1, (high - low) / 4.0)
        envelope = minimum_jerk((phase - low) / ramp) * minimum_jerk((high - phase) / ramp)
        cycle = 2.0 * np.pi * wave.cycles * (phase - low) / (high - low) + wave.phase
        angles[..., DOFS.index(wave.dof)] += wave.amplitude * amplitude * envelope * np.sin(cycle)
    return angles


def _both(**pose: float) -> dict[str, float]:
    """The same arm pose on both sides: ``flex=80`` sets ``r_flex`` and ``l_flex``."""
    out: dict[str, float] = {}
    for name, value in pose.items():
        if name in ("flex", "abd", "rot", "elbow", "pron"):
            out[f"r_{name}"] = out[f"l_{name}"] = value
        else:
            out[name] = value
    return out


def _pose(**pose: float) -> dict[str, float]:
    """Short names: ``flex``, ``abd``, ... are the right arm's, ``l_*`` and the rest verbatim."""
    arm = ("flex", "abd", "rot", "elbow", "pron", "wrist")
    return {(f"r_{name}" if name in arm else name): value for name, value in pose.items()}


def _legs(hip: float, knee: float, **pose: float) -> dict[str, float]:
    return {"r_hip": hip, "l_hip": hip, "r_knee": knee, "l_knee": knee, **_pose(**pose)}


def _keys(
    *pairs: tuple[float, Mapping[str, float]],
) -> tuple[tuple[float, Mapping[str, float]], ...]:
    """Keyframes that start and end at rest."""
    return ((0.0, {}), *pairs, (1.0, {}))


def _jog(steps: float, hip: float, knee: float, swing: float, bounce: float) -> tuple[Wave, ...]:
    """Alternating legs, counter-swinging arms and a vertical bounce at twice the step rate."""
    window = (0.1, 0.9)
    return (
        Wave("r_hip", hip, steps, 0.0, window),
        Wave("l_hip", hip, steps, np.pi, window),
        Wave("r_knee", knee, steps, 0.0, window),
        Wave("l_knee", knee, steps, np.pi, window),
        Wave("r_flex", swing, steps, np.pi, window),
        Wave("l_flex", swing, steps, 0.0, window),
        Wave("root_y", bounce, 2 * steps, -np.pi / 2, window),
    )


_UP = -90.0  # humeral rotation that points a 90-degree-flexed forearm up when abducted
_CIRCLE = _pose(flex=82.0, abd=3.0, elbow=20.0, pron=-30.0)
_CLAP = _both(flex=80.0, abd=12.0, elbow=40.0, pron=-80.0)
_CROSS = _both(flex=80.0, abd=-45.0, elbow=100.0)
_GUARD = _both(flex=45.0, abd=15.0, elbow=125.0)
_RIGHT_PUNCH = {**_GUARD, **_pose(flex=88.0, elbow=8.0, abd=-5.0, trunk_yaw=15.0)}
_LEFT_PUNCH = {**_GUARD, "l_flex": 88.0, "l_elbow": 8.0, "l_abd": -5.0, "trunk_yaw": -15.0}
_PUSH_IN = _both(flex=50.0, abd=10.0, elbow=115.0, pron=-80.0)
_PUSH_OUT = _both(flex=88.0, abd=5.0, elbow=10.0, pron=-80.0, trunk_flex=10.0)
_KNOCK = _pose(flex=75.0, abd=15.0, elbow=95.0, pron=-90.0)
_WAVE = _pose(abd=80.0, rot=_UP, elbow=95.0, pron=-70.0)
_CURL = _both(elbow=70.0, pron=-60.0, flex=5.0)
_SIT = _legs(90.0, 92.0, trunk_flex=8.0, **_both(flex=20.0, elbow=45.0))
_LEAN = _legs(95.0, 92.0, trunk_flex=40.0, **_both(flex=35.0, elbow=30.0))
_SQUAT = _legs(100.0, 110.0, trunk_flex=35.0, **_both(flex=90.0, abd=5.0, elbow=0.0))
_ARMS_OUT = _both(flex=90.0, abd=5.0, elbow=0.0)
_LUNGE = {"l_hip": 80.0, "l_knee": 85.0, "r_hip": -15.0, "r_knee": 75.0, "trunk_flex": 5.0}
_LUNGE |= _both(flex=15.0, elbow=30.0)
_DOWN = _legs(45.0, 60.0, trunk_flex=65.0, flex=40.0, elbow=10.0)
_LOAD = _pose(flex=40.0, abd=85.0, rot=_UP, elbow=90.0, trunk_yaw=-25.0)
_THROW = _pose(flex=130.0, abd=35.0, elbow=25.0, trunk_yaw=20.0, trunk_flex=15.0)
_JOG = _legs(30.0, 50.0, **_both(elbow=90.0, flex=10.0))
_WALK = _legs(15.0, 20.0, **_both(elbow=20.0))
_PICK = _pose(flex=45.0, abd=10.0, elbow=120.0, l_flex=40.0, l_elbow=110.0)


def _stroke(pose: Mapping[str, float]) -> dict[str, float]:
    """A drawing pose: the arm forward with the elbow slightly bent, palm turned in."""
    return {**_pose(elbow=20.0, pron=-40.0), **pose}


PROGRAMS: tuple[Program, ...] = (
    Program(2.6, _keys(  # swipe_left
        (0.3, _pose(flex=80.0, abd=50.0, elbow=25.0, pron=-70.0)),
        (0.68, _pose(flex=85.0, abd=-35.0, elbow=35.0, pron=-70.0)),
    )),
    Program(2.6, _keys(  # swipe_right
        (0.3, _pose(flex=85.0, abd=-35.0, elbow=35.0, pron=-70.0)),
        (0.68, _pose(flex=80.0, abd=50.0, elbow=25.0, pron=-70.0)),
    )),
    Program(3.4, _keys((0.22, _WAVE), (0.8, _WAVE)),  # wave
            (Wave("r_rot", 28.0, 3.0, 0.0, (0.25, 0.78)),)),
    Program(3.0, _keys((0.2, _CLAP), (0.82, _CLAP)),  # clap
            (Wave("r_abd", 18.0, 3.0, 0.0, (0.22, 0.8)),
             Wave("l_abd", 18.0, 3.0, 0.0, (0.22, 0.8)))),
    Program(2.8, _keys(  # throw
        (0.32, {**_LOAD, "trunk_yaw": -30.0}),
        (0.5, _THROW),
        (0.62, _pose(flex=70.0, abd=-15.0, elbow=25.0, trunk_flex=20.0, trunk_yaw=25.0)),
    )),
    Program(3.0, _keys((0.35, _CROSS), (0.7, _CROSS))),  # arm_cross
    Program(3.0, _keys(  # basketball_shoot
        (0.3, _legs(25.0, 45.0, trunk_flex=10.0, flex=95.0, elbow=120.0, abd=10.0,
                    l_flex=90.0, l_elbow=110.0, l_abd=-5.0)),
        (0.52, _pose(flex=165.0, elbow=15.0, wrist=10.0, l_flex=150.0, l_elbow=30.0)),
        (0.62, _pose(flex=160.0, elbow=10.0, wrist=70.0, l_flex=120.0, l_elbow=30.0)),
    ), planted=True),
    Program(3.6, _keys(  # draw_x
        (0.15, _stroke(_pose(flex=110.0, abd=30.0))),
        (0.38, _stroke(_pose(flex=55.0, abd=-25.0))),
        (0.5, _stroke(_pose(flex=110.0, abd=-25.0))),
        (0.73, _stroke(_pose(flex=55.0, abd=30.0))),
    )),
    Program(3.6, _keys((0.15, _CIRCLE), (0.85, _CIRCLE)),  # draw_circle_cw
            (Wave("r_flex", 24.0, 2.0, 0.0), Wave("r_abd", 24.0, 2.0, np.pi / 2))),
    Program(3.6, _keys((0.15, _CIRCLE), (0.85, _CIRCLE)),  # draw_circle_ccw
            (Wave("r_flex", 24.0, 2.0, 0.0), Wave("r_abd", -24.0, 2.0, np.pi / 2))),
    Program(3.6, _keys(  # draw_triangle
        (0.15, _stroke(_pose(flex=115.0, abd=5.0))),
        (0.35, _stroke(_pose(flex=60.0, abd=35.0))),
        (0.55, _stroke(_pose(flex=60.0, abd=-25.0))),
        (0.75, _stroke(_pose(flex=115.0, abd=5.0))),
    )),
    Program(3.2, _keys(  # bowling
        (0.3, _legs(15.0, 20.0, flex=-45.0, elbow=10.0, trunk_flex=15.0)),
        (0.55, _pose(flex=60.0, elbow=10.0, trunk_flex=35.0, r_hip=40.0, r_knee=50.0,
                     l_hip=55.0, l_knee=45.0)),
        (0.68, _pose(flex=110.0, elbow=15.0, trunk_flex=25.0, r_hip=30.0, r_knee=40.0,
                     l_hip=45.0, l_knee=40.0)),
    ), planted=True),
    Program(3.4, _keys(  # boxing
        (0.15, _GUARD), (0.25, _RIGHT_PUNCH), (0.35, _GUARD), (0.45, _LEFT_PUNCH),
        (0.55, _GUARD), (0.65, _RIGHT_PUNCH), (0.75, _GUARD),
    )),
    Program(3.2, _keys(  # baseball_swing
        (0.3, _pose(trunk_yaw=-40.0, flex=55.0, abd=45.0, elbow=95.0,
                    l_flex=75.0, l_abd=-40.0, l_elbow=60.0)),
        (0.5, _pose(trunk_yaw=35.0, flex=80.0, abd=-25.0, elbow=15.0,
                    l_flex=85.0, l_abd=25.0, l_elbow=10.0)),
        (0.64, _pose(trunk_yaw=60.0, flex=110.0, abd=-55.0, elbow=60.0,
                     l_flex=110.0, l_abd=40.0, l_elbow=70.0)),
    )),
    Program(3.0, _keys(  # tennis_swing
        (0.32, _pose(trunk_yaw=-40.0, flex=20.0, abd=75.0, elbow=25.0, pron=30.0)),
        (0.5, _pose(trunk_yaw=20.0, flex=75.0, abd=10.0, elbow=20.0, pron=-20.0)),
        (0.64, _pose(trunk_yaw=45.0, flex=110.0, abd=-40.0, elbow=70.0, pron=-60.0)),
    )),
    Program(3.6, _keys((0.12, _CURL), (0.88, _CURL)),  # arm_curl
            (Wave("r_elbow", 55.0, 3.0, -np.pi / 2, (0.12, 0.88)),
             Wave("l_elbow", 55.0, 3.0, -np.pi / 2, (0.12, 0.88)))),
    Program(3.4, _keys(  # tennis_serve
        (0.3, _legs(15.0, 30.0, l_flex=150.0, l_elbow=10.0, abd=85.0, rot=_UP, elbow=100.0,
                    trunk_flex=-10.0, trunk_yaw=-20.0)),
        (0.5, _pose(flex=170.0, abd=10.0, elbow=5.0, l_flex=60.0, trunk_flex=15.0,
                    trunk_yaw=10.0)),
        (0.64, _pose(flex=40.0, abd=-30.0, elbow=30.0, trunk_flex=30.0, trunk_yaw=30.0,
                     l_flex=20.0)),
    ), planted=True),
    Program(3.0, _keys(  # push
        (0.2, _PUSH_IN), (0.38, _PUSH_OUT), (0.55, _PUSH_IN), (0.72, _PUSH_OUT), (0.86, _PUSH_IN),
    )),
    Program(3.0, _keys((0.22, _KNOCK), (0.78, _KNOCK)),  # knock
            (Wave("r_elbow", 14.0, 4.0, 0.0, (0.25, 0.75)),
             Wave("r_wrist", 20.0, 4.0, 0.0, (0.25, 0.75)))),
    Program(2.6, _keys(  # catch
        (0.35, _pose(flex=105.0, abd=20.0, elbow=10.0, pron=30.0, trunk_flex=10.0)),
        (0.55, _PICK), (0.7, _PICK),
    )),
    Program(4.2, _keys(  # pickup_throw
        (0.28, _DOWN), (0.36, _DOWN), (0.55, _LOAD), (0.68, _THROW),
    ), planted=True),
    Program(4.0, _keys((0.1, _JOG), (0.9, _JOG)), _jog(6.0, 30.0, 45.0, 35.0, 0.03)),  # jog
    Program(4.4, _keys((0.1, _WALK), (0.9, _WALK)), _jog(4.0, 15.0, 20.0, 18.0, 0.012)),  # walk
    Program(3.4, ((0.0, _SIT), (0.15, _SIT), (0.4, _LEAN), (0.78, {}), (1.0, {})),  # sit2stand
            planted=True),
    Program(3.4, ((0.0, {}), (0.22, {}), (0.6, _LEAN), (0.85, _SIT), (1.0, _SIT)),  # stand2sit
            planted=True),
    Program(3.6, _keys((0.35, _LUNGE), (0.62, _LUNGE)), planted=True),  # lunge
    Program(3.4, _keys((0.18, _ARMS_OUT), (0.45, _SQUAT), (0.6, _SQUAT), (0.85, _ARMS_OUT)),
            planted=True),  # squat
)  # fmt: skip
"""One program per UTD-MHAD action, in label order (see ``UTD_MHAD_CLASSES``)."""
