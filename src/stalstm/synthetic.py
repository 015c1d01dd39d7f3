"""Synthetic skeleton actions whose discriminative joints and frames are known.

The demo and the tests need data that is small, embedded (no download), and for which the right
answer of an attention model is known. Every clip here is on NTU RGB+D's 25-joint layout
(``ntu25``) with one or two persons, so K = 2 x 25 = 50 like NTU (a one-person clip has a zero
second body), and a random length.

How a class is defined: a class is one limb of person 1 (right arm, left arm, right leg, left leg)
performing one movement pattern (raise, push forward, swing out, pull back) inside a short *key
window* of frames placed at random in the clip. Four limbs x four patterns give 16 (limb, pattern)
pairs; the 8 whose limb and pattern indices have an even sum are the classes. The other 8 pairs
are *distractors*, so every limb and every pattern also occurs in motion that belongs to no class.

What makes attention worth it:

- distracting movements of the same size (the non-class pairs on person 1's other limbs, any
  pattern on the head or on person 2) happen at random times, before, during and after the key
  window: a model that reads which pattern happened without reading which joints did it is
  misled;
- with ``max_decoys > 0`` (the demo's setting) the actor also performs one or two movements of
  OTHER classes outside the key window, and with ``key_lean > 0`` the actor leans forward during
  the key window (and only then). The lean is the same for every class: it says *when* the class
  movement happens, never *which* it is. A model that reads the wrong frames sees a decoy class;
  the frames that count have to be found. The defaults here (no decoys, no lean) give the plain
  task in which the class limb moves only inside the key window;
- every clip also has body sway (slow translation and lean), a random body size and per-joint
  noise.

What the generator records: ``Clip.extras["planted_joints"]`` (indices into the K = M x V
flattened joints, person-major as ``stalstm.dataset`` flattens them: the joints the class moves)
and ``Clip.extras["key_frames"]`` (bool, one per frame: the key window). ``SYNTHETIC_CLASSES``
lists the class definitions. Everything is drawn from one ``numpy.random.Generator`` seeded by
the caller: the same seed gives the same clips, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import SettingError
from stalstm.layouts import Layout, get_layout

LAYOUT_NAME = "ntu25"
NUM_PERSONS = 2
NUM_JOINTS = NUM_PERSONS * get_layout(LAYOUT_NAME).num_joints  # K = 50, as for NTU RGB+D

Pattern = Literal["raise", "push", "swing_out", "pull_back"]
PATTERNS: tuple[Pattern, ...] = ("raise", "push", "swing_out", "pull_back")

# A limb: the joints a movement displaces, each with how far it moves relative to the extremity
# (a joint near the shoulder or hip moves less than the hand or foot), and the limb's side
# (+1 left, -1 right along x), which decides where "out" is.
_LIMBS: dict[str, tuple[tuple[tuple[str, float], ...], float]] = {
    "right_arm": (
        (
            ("elbow_right", 0.45),
            ("wrist_right", 0.9),
            ("hand_right", 1.0),
            ("hand_tip_right", 1.05),
            ("thumb_right", 1.0),
        ),
        -1.0,
    ),
    "left_arm": (
        (
            ("elbow_left", 0.45),
            ("wrist_left", 0.9),
            ("hand_left", 1.0),
            ("hand_tip_left", 1.05),
            ("thumb_left", 1.0),
        ),
        1.0,
    ),
    "right_leg": ((("knee_right", 0.5), ("ankle_right", 0.95), ("foot_right", 1.0)), -1.0),
    "left_leg": ((("knee_left", 0.5), ("ankle_left", 0.95), ("foot_left", 1.0)), 1.0),
    "head": ((("neck", 0.3), ("head", 1.0)), 0.0),
}
CLASS_LIMBS: tuple[str, ...] = ("right_arm", "left_arm", "right_leg", "left_leg")

# A plausible standing rest pose in metres (x to the person's left, y up, negative z towards the
# camera), origin at the base of the spine, by ntu25 joint name.
_REST_POSE: dict[str, tuple[float, float, float]] = {
    "spine_base": (0.0, 0.0, 0.0),
    "spine_mid": (0.0, 0.27, 0.01),
    "neck": (0.0, 0.56, 0.0),
    "head": (0.0, 0.72, -0.01),
    "shoulder_left": (0.18, 0.49, 0.0),
    "elbow_left": (0.22, 0.22, 0.02),
    "wrist_left": (0.24, -0.01, 0.0),
    "hand_left": (0.25, -0.08, -0.01),
    "shoulder_right": (-0.18, 0.49, 0.0),
    "elbow_right": (-0.22, 0.22, 0.02),
    "wrist_right": (-0.24, -0.01, 0.0),
    "hand_right": (-0.25, -0.08, -0.01),
    "hip_left": (0.09, -0.03, 0.0),
    "knee_left": (0.1, -0.43, 0.02),
    "ankle_left": (0.1, -0.83, 0.04),
    "foot_left": (0.1, -0.88, -0.06),
    "hip_right": (-0.09, -0.03, 0.0),
    "knee_right": (-0.1, -0.43, 0.02),
    "ankle_right": (-0.1, -0.83, 0.04),
    "foot_right": (-0.1, -0.88, -0.06),
    "spine_shoulder": (0.0, 0.49, 0.0),
    "hand_tip_left": (0.26, -0.15, -0.01),
    "thumb_left": (0.22, -0.1, -0.04),
    "hand_tip_right": (-0.26, -0.15, -0.01),
    "thumb_right": (-0.22, -0.1, -0.04),
}


@dataclass(frozen=True)
class SyntheticActionClass:
    """One class: ``limb`` of person 1 performs ``pattern`` inside the key window."""

    name: str
    limb: str
    pattern: Pattern
    joint_names: tuple[str, ...]  # the joints the movement displaces (the planted joints)


def _is_class_pair(limb: str, pattern: Pattern) -> bool:
    return (CLASS_LIMBS.index(limb) + PATTERNS.index(pattern)) % 2 == 0


SYNTHETIC_CLASSES: tuple[SyntheticActionClass, ...] = tuple(
    SyntheticActionClass(
        name=f"{limb} {pattern}".replace("_", " "),
        limb=limb,
        pattern=pattern,
        joint_names=tuple(name for name, _ in _LIMBS[limb][0]),
    )
    for limb in CLASS_LIMBS
    for pattern in PATTERNS
    if _is_class_pair(limb, pattern)
)
CLASS_NAMES: tuple[str, ...] = tuple(action.name for action in SYNTHETIC_CLASSES)

# Movements that belong to no class: on person 1, the limb/pattern pairs that are not classes and
# any pattern of the head; on person 2, anything.
_PERSON1_DISTRACTORS: tuple[tuple[str, Pattern], ...] = tuple(
    (limb, pattern)
    for limb in (*CLASS_LIMBS, "head")
    for pattern in PATTERNS
    if limb == "head" or not _is_class_pair(limb, pattern)
)
_ANY_MOVEMENT: tuple[tuple[str, Pattern], ...] = tuple(
    (limb, pattern) for limb in _LIMBS for pattern in PATTERNS
)


@dataclass(frozen=True)
class SyntheticConfig:
    """The knobs of the generator; the defaults are those of the demo."""

    min_frames: int = 40
    max_frames: int = 80
    min_key_frames: int = 10  # length of the key window
    max_key_frames: int = 16
    two_person_probability: float = 0.5
    min_distractors: int = 2  # distracting movements per clip
    max_distractors: int = 4
    min_decoys: int = 0  # movements of OTHER classes by the actor, outside the key window
    max_decoys: int = 0
    key_lean: float = 0.0  # metres the actor's head leans forward during the key window
    amplitude: float = 0.35  # metres the extremity of a limb moves at the peak of a movement
    amplitude_jitter: float = 0.2  # each movement's amplitude is amplitude x (1 +- this)
    noise: float = 0.01  # metres, per joint and frame
    sway: float = 0.03  # metres, slow whole-body translation
    person_spacing: float = 1.2  # metres between the two persons along x

    def __post_init__(self) -> None:
        if not 2 <= self.min_key_frames <= self.max_key_frames <= self.min_frames:
            raise ValueError(f"need 2 <= key window lengths <= min_frames, got {self}")
        if self.min_frames > self.max_frames:
            raise ValueError(f"min_frames > max_frames in {self}")
        if not 0 <= self.min_distractors <= self.max_distractors:
            raise ValueError(f"invalid distractor counts in {self}")


def _pattern_displacement(pattern: Pattern, phase: np.ndarray, side: float) -> np.ndarray:
    """Displacement (L, 3) of a limb's extremity at unit amplitude over a movement's phase 0..1:
    one main direction per pattern (up, forward, outwards, backwards), with a sine envelope so
    that a movement starts and ends at rest."""
    envelope = np.sin(np.pi * phase)[:, None]  # (L, 1)
    outwards = side if side != 0.0 else 1.0
    direction = {
        "raise": (0.0, 1.0, 0.0),
        "push": (0.0, 0.2, -1.0),  # forward is negative z (towards the camera)
        "swing_out": (outwards, 0.2, 0.0),
        "pull_back": (0.0, 0.2, 1.0),
    }[pattern]
    return envelope * np.asarray(direction)  # (L, 3)


class SyntheticActions:
    """The generator. ``SyntheticActions().generate(100, seed=0)`` gives 100 labelled clips."""

    def __init__(self, config: SyntheticConfig | None = None, layout: Layout | None = None) -> None:
        self.config = config or SyntheticConfig()
        self.layout = layout or get_layout(LAYOUT_NAME)
        index = self.layout.index
        self.rest_pose = np.array(
            [_REST_POSE[name] for name in self.layout.joint_names], dtype=np.float64
        )  # (V, 3)
        self._limb_joints = {
            limb: (np.array([index(name) for name, _ in joints]), np.array([w for _, w in joints]))
            for limb, (joints, _) in _LIMBS.items()
        }
        self._limb_side = {limb: side for limb, (_, side) in _LIMBS.items()}

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES

    @property
    def num_joints(self) -> int:
        """K: joints of both persons, flattened."""
        return NUM_PERSONS * self.layout.num_joints

    def planted_joints(self, label: int) -> np.ndarray:
        """Indices into the K flattened joints that class ``label`` moves (all on person 1)."""
        return np.sort(self._limb_joints[SYNTHETIC_CLASSES[label].limb][0])

    def _add_movement(
        self,
        poses: np.ndarray,
        person: int,
        limb: str,
        pattern: Pattern,
        start: int,
        length: int,
        amplitude: float,
    ) -> None:
        phase = np.linspace(0.0, 1.0, length)
        extremity = amplitude * _pattern_displacement(pattern, phase, self._limb_side[limb])
        joints, weights = self._limb_joints[limb]
        # (L, J, 3): each joint moves along the extremity's path, scaled by its place on the limb
        poses[start : start + length, person][:, joints] += (
            weights[None, :, None] * extremity[:, None, :]
        )

    def _add_lean(self, poses: np.ndarray, start: int, length: int, distance: float) -> None:
        envelope = np.sin(np.pi * np.linspace(0.0, 1.0, length))  # (L,)
        height = np.clip(self.rest_pose[:, 1] / self.rest_pose[:, 1].max(), 0.0, None)  # (V,)
        poses[start : start + length, 0, :, 2] -= distance * envelope[:, None] * height[None, :]

    def generate_clip(self, label: int, rng: np.random.Generator, name: str) -> Clip:
        """One clip of class ``label``, drawn from ``rng``."""
        config = self.config
        action = SYNTHETIC_CLASSES[label]
        frames = int(rng.integers(config.min_frames, config.max_frames + 1))
        persons = 2 if rng.random() < config.two_person_probability else 1
        scale = rng.uniform(0.9, 1.1, size=persons)
        poses = np.zeros((frames, NUM_PERSONS, self.layout.num_joints, 3))  # (T, M, V, 3)
        poses[:, :persons] = scale[None, :, None, None] * self.rest_pose

        def amplitude() -> float:
            return config.amplitude * rng.uniform(
                1.0 - config.amplitude_jitter, 1.0 + config.amplitude_jitter
            )

        def window() -> tuple[int, int]:
            length = int(rng.integers(config.min_key_frames, config.max_key_frames + 1))
            return int(rng.integers(0, frames - length + 1)), length

        key_start, key_length = window()
        self._add_movement(
            poses, 0, action.limb, action.pattern, key_start, key_length, amplitude()
        )
        if config.key_lean:
            self._add_lean(poses, key_start, key_length, config.key_lean)
        for _ in range(int(rng.integers(config.min_decoys, config.max_decoys + 1))):
            length = int(rng.integers(config.min_key_frames, config.max_key_frames + 1))
            starts = [
                start
                for start in range(frames - length + 1)
                if start + length <= key_start or start >= key_start + key_length
            ]
            if not starts:
                continue
            other = SYNTHETIC_CLASSES[
                int(rng.choice([c for c in range(len(SYNTHETIC_CLASSES)) if c != label]))
            ]
            start = int(rng.choice(starts))
            self._add_movement(poses, 0, other.limb, other.pattern, start, length, amplitude())
        for _ in range(int(rng.integers(config.min_distractors, config.max_distractors + 1))):
            person = int(rng.integers(persons))
            if person == 0:
                choices = [m for m in _PERSON1_DISTRACTORS if m[0] != action.limb]
            else:
                choices = list(_ANY_MOVEMENT)
            limb, pattern = choices[int(rng.integers(len(choices)))]
            start, length = window()
            self._add_movement(poses, person, limb, pattern, start, length, amplitude())

        # Where the persons stand (the actor near the origin, as a preset centring on the first
        # person leaves them; the other to their left or right), how they sway, sensor noise.
        time = np.arange(frames)[:, None]
        side = rng.choice([-1.0, 1.0])
        for person in range(persons):
            offset = np.array([person * side * config.person_spacing, 0.0, 0.0])
            offset += rng.normal(0.0, [0.05, 0.02, 0.05])
            period = rng.uniform(30.0, 70.0)
            sway = config.sway * np.sin(2 * np.pi * time / period + rng.uniform(0, 2 * np.pi))
            lean = rng.normal(0.0, 0.02) * poses[:, person, :, 1]  # (T, V): lean grows with height
            poses[:, person, :, 0] += sway + lean
            poses[:, person] += offset
            poses[:, person] += rng.normal(0.0, config.noise, size=poses[:, person].shape)

        key_frames = np.zeros(frames, dtype=bool)
        key_frames[key_start : key_start + key_length] = True
        return Clip(
            name=name,
            joints=poses.astype(np.float32),
            label=label,
            layout=self.layout.name,
            subject=1,
            extras={"planted_joints": self.planted_joints(label), "key_frames": key_frames},
        )

    def generate(self, num_clips: int, seed: int, prefix: str = "synthetic") -> list[Clip]:
        """``num_clips`` clips with balanced classes (label = index mod the class count, then
        shuffled), named ``{prefix}/{index:05d}``."""
        rng = np.random.default_rng(seed)
        labels = rng.permutation(np.arange(num_clips) % len(SYNTHETIC_CLASSES))
        return [
            self.generate_clip(int(label), rng, f"{prefix}/{index:05d}")
            for index, label in enumerate(labels)
        ]


def generate_clips(
    num_clips: int, seed: int = 0, config: SyntheticConfig | None = None, prefix: str = "synthetic"
) -> list[Clip]:
    """``num_clips`` synthetic clips (see the module docstring), the same for the same seed."""
    return SyntheticActions(config).generate(num_clips, seed, prefix)


TRAIN_FOLD, TEST_FOLD = 1, 2  # the ``fold`` of generated training and test clips
DATA_OPTIONS = {
    "train_clips": 2000,
    "test_clips": 400,
    # the training clips in reverse order (the robustness benchmark's batch-order perturbation)
    "reverse_training_order": False,
}


def synthetic_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], SyntheticConfig]:
    """A recipe's ``data.options`` for the synthetic data set, checked: the clip counts and
    order of ``DATA_OPTIONS`` and any ``SyntheticConfig`` field. Errors name the key."""
    known = {spec.name for spec in fields(SyntheticConfig)}
    values = dict(DATA_OPTIONS)
    generator = {}
    for key, value in options.items():
        if key in DATA_OPTIONS:
            if type(value) is not type(DATA_OPTIONS[key]):
                raise SettingError(
                    f"data.options.{key}",
                    f"must be a {type(DATA_OPTIONS[key]).__name__}, got {value!r}",
                )
            values[key] = value
        elif key in known:
            generator[key] = value
        else:
            raise SettingError(
                f"data.options.{key}",
                "is not an option of the synthetic data; options: "
                + ", ".join([*DATA_OPTIONS, *known]),
            )
    for key in ("train_clips", "test_clips"):
        if values[key] < 1:
            raise SettingError(f"data.options.{key}", f"must be at least 1, got {values[key]}")
    try:
        config = SyntheticConfig(**generator)
    except (TypeError, ValueError) as error:
        raise SettingError("data.options", str(error)) from error
    return values, config


def synthetic_data(options: Mapping[str, Any], seed: int) -> list[Clip]:
    """The demo's data: ``train_clips`` clips drawn from ``seed`` (``fold`` 1) and then
    ``test_clips`` clips drawn from ``seed + 1`` (``fold`` 2); the same for the same seed."""
    values, config = synthetic_options(options)
    generator = SyntheticActions(config)
    train = generator.generate(values["train_clips"], seed, "train")
    if values["reverse_training_order"]:
        train = train[::-1]
    test = generator.generate(values["test_clips"], seed + 1, "test")
    return [clip.with_joints(clip.joints, fold=TRAIN_FOLD) for clip in train] + [
        clip.with_joints(clip.joints, fold=TEST_FOLD) for clip in test
    ]
