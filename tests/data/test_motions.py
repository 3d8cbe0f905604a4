from __future__ import annotations

import numpy as np
import pytest

from mmcontrast.data import UTD_MHAD_CLASSES
from mmcontrast.data._body import DOFS, REST
from mmcontrast.data._motions import PROGRAMS, Program, Wave, evaluate_angles, minimum_jerk


def test_one_program_per_action() -> None:
    assert len(PROGRAMS) == len(UTD_MHAD_CLASSES) == 27
    for program in PROGRAMS:
        stops = [key for key, _ in program.keys]
        assert stops[0] == 0.0 and stops[-1] == 1.0 and np.all(np.diff(stops) > 0)
        assert program.values.shape == (len(stops), len(DOFS))
    sit2stand, stand2sit = PROGRAMS[23], PROGRAMS[24]
    assert (
        sit2stand.values[0, DOFS.index("r_knee")] > 80
        and stand2sit.values[-1, DOFS.index("r_knee")] > 80
    )


def test_minimum_jerk_has_flat_ends() -> None:
    tau = np.array([-0.5, 0.0, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(minimum_jerk(tau), [0.0, 0.0, 0.5, 1.0, 1.0])
    h = 1e-4
    for end in (0.0, 1.0):
        slope = (minimum_jerk(np.array(end + h)) - minimum_jerk(np.array(end - h))) / (2 * h)
        curve = (
            minimum_jerk(np.array(end + h))
            - 2 * minimum_jerk(np.array(end))
            + minimum_jerk(np.array(end - h))
        ) / h**2
        assert abs(float(slope)) < 1e-6 and abs(float(curve)) < 1e-3


@pytest.mark.parametrize("label", range(27))
def test_programs_are_twice_differentiable(label: int) -> None:
    """The second derivative has no steps: its largest change per sample halves with h."""
    program = PROGRAMS[label]

    def largest_step(h: float) -> float:
        phase = np.arange(-0.05, 1.05, h)[None]
        angles = evaluate_angles(program, phase, np.ones((1, 1)))[0]
        second = (angles[2:] - 2 * angles[1:-1] + angles[:-2]) / h**2
        return float(np.abs(np.diff(second, axis=0)).max())

    assert largest_step(1e-4) < 0.6 * largest_step(2e-4)
    ends = evaluate_angles(program, np.array([[0.0, 1.0]]), np.ones((1, 1)))[0]
    np.testing.assert_allclose(ends, program.values[[0, -1]])


def test_waves_amplitude_and_per_sequence_keyframes() -> None:
    program = Program(
        1.0,
        ((0.0, {}), (0.5, {"r_flex": 40.0}), (1.0, {})),
        (Wave("r_abd", 10.0, 2.0, 0.0, (0.2, 0.8)),),
    )
    phase = np.array([[0.0, 0.575, 0.5, 1.0]] * 2)
    angles = evaluate_angles(program, phase, np.array([[1.0], [0.5]]))
    flex, abd = DOFS.index("r_flex"), DOFS.index("r_abd")
    assert angles[0, 2, flex] == pytest.approx(40.0) and angles[1, 2, flex] == pytest.approx(20.0)
    assert angles[0, 1, abd] == pytest.approx(REST[abd] + 10.0)  # a wave crest, full envelope
    assert angles[1, 1, abd] == pytest.approx(REST[abd] + 5.0)
    assert angles[0, 0, abd] == pytest.approx(REST[abd]) and angles[0, 3, abd] == pytest.approx(
        REST[abd]
    )
    values = np.broadcast_to(program.values, (2, 3, len(DOFS))).copy()
    values[1, 1, flex] = 80.0
    stops = np.array([[0.0, 0.5, 1.0], [0.0, 0.25, 1.0]])
    moved = evaluate_angles(
        program, np.array([[0.5], [0.25]]), np.ones((2, 1)), values=values, stops=stops
    )
    assert moved[0, 0, flex] == pytest.approx(40.0) and moved[1, 0, flex] == pytest.approx(80.0)
