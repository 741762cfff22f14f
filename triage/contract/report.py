"""The report contract: one flat, strict model of a post-session report.

Each field carries, next to its type, the question it answers, the help text, the label of each
answer and the order of its answers from least to most worrying (``Ask``). The questionnaire, the
JSON Schema, the rule-pack validator, the docs and the property tests all read them from here.
"""

from __future__ import annotations

import functools
import numbers
import re
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..logic import All, AnyOf, Condition, Not, Test, compile_condition
from .fields import ADDING, HIGHER, REQUIREMENTS, Ask
from .fields import CONTRACT_VERSION as CONTRACT_VERSION
from .fields import (  # the contract's plain data, defined there (and importable from here)
    MOMENT_WORDS as MOMENT_WORDS,
)
from .fields import PAIN as PAIN
from .fields import PAIN_WORDS as PAIN_WORDS
from .fields import Requirement as Requirement
from .fields import requirement_for as requirement_for

YES_NO = {True: "Yes", False: "No"}
SYMPTOM = ((False, True),)
NONE_RESOLVED_ONGOING = {
    "none": "No",
    "resolved": "Yes, but it has gone",
    "ongoing": "Yes, and I still have it",
}
ORDER_RESOLVED = (("none", "resolved", "ongoing"),)


_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"

MOMENT_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""``reported_at`` as text: ISO 8601 with its offset, in the years 2000-2099 (the JSON Schema
uses the same pattern). Earlier or later dates are typing mistakes, and would overflow the
history window."""
_MOMENT = re.compile(MOMENT_PATTERN)
_EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _moment_text(value: Any) -> Any:
    """Only an aware datetime, or text in the contract's form: never a number (Unix time) or
    bytes, which pydantic would otherwise read as a date."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _MOMENT.match(value):
        raise PydanticCustomError("moment", "not a date-time in the contract's form")
    return value


def _moment_in_range(moment: datetime) -> datetime:
    if not _EARLIEST <= moment < _LATEST:
        raise PydanticCustomError("moment", "not a date-time in the contract's form")
    return moment


Moment = Annotated[AwareDatetime, BeforeValidator(_moment_text), AfterValidator(_moment_in_range)]
_MOMENTS: TypeAdapter[datetime] = TypeAdapter(Moment)


def parse_moment(value: Any) -> datetime:
    """A ``reported_at`` value as the contract reads it; ValueError says what is wrong."""
    try:
        return _MOMENTS.validate_python(value)
    except ValidationError:
        raise ValueError(f"got {str(value)[:60]!r}, expected {MOMENT_WORDS}") from None


def _whole_number(value: Any) -> Any:
    """3.0 is the whole number 3: JSON (and so the JSON Schema's "integer") does not tell them
    apart. 3.5, "3" and true are still refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _plain_number(value: Any) -> Any:
    """Only int and float: a Fraction or Decimal would pass pydantic's float check."""
    if isinstance(value, numbers.Number) and not isinstance(value, (int, float)):
        raise PydanticCustomError("number", "not a plain number")
    return value


Score = Annotated[int, Field(ge=0, le=10)]


def _as_tuple(value: Any) -> Any:
    """A list read from a file becomes the model's tuple; anything else is left for the type
    check to refuse (a bare word where a list belongs)."""
    return tuple(value) if isinstance(value, list) else value


def _distinct(values: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise PydanticCustomError(
            "set_repeated", "lists {value} more than once", {"value": ", ".join(repeated)}
        )
    return values


def _in_contract_order(values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    """The answers in the order the contract lists them, whatever order they were given in."""
    if len(values) < 2:
        return values
    return tuple(sorted(values, key=_choice_order(str(info.field_name)).__getitem__))


@functools.cache
def _choice_order(field_name: str) -> dict[str, int]:
    """The position of each answer of a set field in the contract's order."""
    annotation = Report.model_fields[field_name].annotation
    choices = typing.get_args(typing.get_args(annotation)[0])
    return {choice: position for position, choice in enumerate(choices)}


Choice = TypeVar("Choice")
SetOf = Annotated[
    tuple[Choice, ...],
    BeforeValidator(_as_tuple),
    AfterValidator(_distinct),
    AfterValidator(_in_contract_order),
]
"""``SetOf[Literal[...]]``: a set field, written as a list of distinct answers, kept in the
contract's order of its answers."""


PainSite = Literal["muscle", "joint", "tendon", "bone", "other"]
PainRegion = Literal[
    "head", "neck", "chest", "upper_back", "lower_back", "abdomen_groin", "shoulder", "arm",
    "hand_wrist", "hip_buttock", "thigh", "knee", "lower_leg", "foot_ankle",
]  # fmt: skip
Trend = Literal["better", "same", "worse"]
NoneResolvedOngoing = Literal["none", "resolved", "ongoing"]
NoneMildMarked = Literal["none", "mild", "marked"]
Limb = Literal["one_arm", "both_arms", "one_leg", "both_legs"]
NumbPlace = Literal["one_arm", "both_arms", "one_leg", "both_legs", "saddle"]
KnownCondition = Literal[
    "heart_disease", "high_blood_pressure", "diabetes_insulin", "blood_thinners", "previous_clot",
    "osteoporosis",
]  # fmt: skip
LIMB_LABELS = {
    "one_arm": "Into one arm",
    "both_arms": "Into both arms",
    "one_leg": "Into one leg",
    "both_legs": "Into both legs",
}


class Report(BaseModel):
    """A post-session report (contract v3). Strict on purpose: a typo such as ``chest_pian`` or
    the text "5" for a score must be rejected, never ignored, because a safety rule may depend
    on it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    patient_id: Annotated[
        str,
        Field(pattern=_ID_PATTERN),
        Ask(
            "Your patient ID",
            "The short code your clinic gave you (not your name): "
            "1 to 64 letters, digits, '.', '_' or '-'.",
            short="Patient ID",
        ),
    ]
    session_id: Annotated[
        str | None,
        Field(pattern=_ID_PATTERN),
        Ask(
            "Session ID",
            "Links a follow-up report to the session it is about: "
            "letters, digits, '.', '_' or '-'.",
        ),
    ] = None
    reported_at: Annotated[
        Moment,
        Ask(
            "When the answers were given",
            "An ISO-8601 date and time with its offset, for example 2026-11-21T09:30:00+00:00.",
        ),
    ] = Field(default_factory=lambda: datetime.now(timezone.utc), strict=False)
    hours_since_session: Annotated[
        float,
        Field(ge=0, le=336, allow_inf_nan=False),
        BeforeValidator(_plain_number),
        Ask(
            "When did the session end?",
            "For example: just now, 45 minutes ago, this morning, yesterday at 6pm, or a "
            "number of hours (0 means you have just finished; at most 336, two weeks).",
            short="Session ended",
        ),
    ]
    program_week: Annotated[
        int | None,
        Field(ge=1, le=520),
        BeforeValidator(_whole_number),
        Ask(
            "Which week of your programme is this?",
            "1 for the first week; months are fine too (3 months is read as week 13). Leave it "
            "out if you do not know.",
            short="Programme week",
        ),
    ] = None
    new_load: Annotated[
        bool | None,
        Ask(
            "Did this session add a new exercise or more weight than before?",
            "Yes if you tried an exercise for the first time, or lifted more than last time.",
            labels=YES_NO,
            short="New exercise or more weight",
        ),
    ] = None
    session_rpe: Annotated[
        int | None,
        Field(ge=0, le=10),
        BeforeValidator(_whole_number),
        Ask(
            "How hard was the session as a whole, from 0 to 10?",
            "Think of the whole session, not its hardest moment: 0 means resting, 10 the hardest "
            "effort you could make.",
            short="How hard the session felt",
        ),
    ] = None
    reps_in_reserve: Annotated[
        int | None,
        Field(ge=0, le=10),
        BeforeValidator(_whole_number),
        Ask(
            "In your last sets, how many more repetitions could you have done?",
            "0 means you could not have done one more with good form.",
            short="Repetitions in reserve",
        ),
    ] = None
    profile: Annotated[
        Literal["athlete", "adult_with_pain", "older_adult"] | None,
        Ask(
            "Which kind of programme are you on?",
            "Your clinician sets this; it decides how quickly the load goes up.",
            labels={
                "athlete": "Young adult or athlete",
                "adult_with_pain": "Adult training with pain",
                "older_adult": "Older adult, strength for everyday life",
            },
            short="Programme profile",
        ),
    ] = None
    age: Annotated[
        int | None,
        Field(ge=5, le=120),
        BeforeValidator(_whole_number),
        Ask(
            "How old are you?",
            "In whole years. Your clinician may have it on your record already.",
            short="Age",
        ),
    ] = None
    conditions: Annotated[
        SetOf[KnownCondition],
        Ask(
            "Do any of these apply to you?",
            "Choose what a doctor has told you that you have, and the medicines you take; type "
            "'none' if none apply. If you are not sure whether a medicine is a blood thinner, "
            "choose it.",
            labels={
                "heart_disease": "Heart disease",
                "high_blood_pressure": "High blood pressure",
                "diabetes_insulin": "Diabetes treated with insulin",
                "blood_thinners": "Taking blood thinners (anticoagulants)",
                "previous_clot": "A blood clot in a leg or a lung before",
                "osteoporosis": "Osteoporosis (thin, fragile bones)",
            },
            worse=ADDING,
            short="Known conditions",
        ),
    ] = ()
    pain_during: Annotated[
        int,
        Field(ge=0, le=10),
        BeforeValidator(_whole_number),
        Ask(
            "What was your worst pain during the session?",
            "0 means no pain at all, 10 the worst pain you can imagine. Ordinary muscle "
            "soreness, stiffness and a headache count too.",
            worse=HIGHER,
            short="Worst pain during the session",
        ),
    ]
    pain_now: Annotated[
        int,
        Field(ge=0, le=10),
        BeforeValidator(_whole_number),
        Ask(
            "How bad is the pain right now?",
            "0 means no pain, 10 the worst you can imagine; ordinary muscle soreness and "
            "stiffness count. If you are not sure between two numbers, choose the higher one.",
            worse=HIGHER,
            short="Pain now",
        ),
    ]
    pain_before: Annotated[
        int | None,
        Field(ge=0, le=10),
        BeforeValidator(_whole_number),
        Ask(
            "What is your usual pain on a normal day, before a session?",
            "Your everyday level of a long-standing pain, such as a back or knee pain, from 0 to "
            "10. Leave it out if you do not have one.",
            short="Usual pain",
        ),
    ] = None
    pain_trend: Annotated[
        Trend | None,
        Ask(
            "Compared with when it started, or with yesterday if it began before, is the pain "
            "better, the same or worse?",
            "If you are not sure, choose the worse answer.",
            labels={"better": "Better", "same": "About the same", "worse": "Worse"},
            worse=(("better", "same", "worse"),),
            short="Pain better, same or worse",
        ),
    ] = None
    pain_region: Annotated[
        PainRegion | None,
        Ask(
            "Where does it hurt most?",
            "Choose the part of the body that hurts most; a headache is the head. If you are "
            "not sure, choose the nearest one.",
            labels={
                "head": "Head",
                "neck": "Neck",
                "chest": "Chest",
                "upper_back": "Upper back, between the shoulder blades",
                "lower_back": "Lower back",
                "abdomen_groin": "Belly or groin",
                "shoulder": "Shoulder",
                "arm": "Arm or elbow",
                "hand_wrist": "Hand or wrist",
                "hip_buttock": "Hip or buttock",
                "thigh": "Thigh",
                "knee": "Knee",
                "lower_leg": "Lower leg or calf",
                "foot_ankle": "Foot or ankle",
            },
            short="Where it hurts",
        ),
    ] = None
    pain_site: Annotated[
        PainSite | None,
        Ask(
            "What does the pain feel like it is in?",
            "A muscle is the fleshy part (the thigh); a joint is where bones meet (the knee); a "
            "tendon is a cord near a joint (the Achilles). If you are not sure, choose the one "
            "it feels most like.",
            labels={
                "muscle": "A muscle",
                "joint": "A joint",
                "tendon": "A tendon",
                "bone": "A bone",
                "other": "Something else, or I cannot tell",
            },
            short="What hurts",
        ),
    ] = None
    pain_spread: Annotated[
        Literal["diffuse", "focal"] | None,
        Ask(
            "Is the pain spread over an area, or in one spot?",
            "One spot means you can point to it with one finger.",
            labels={"diffuse": "Spread over an area", "focal": "In one spot I can point to"},
            short="Spread or one spot",
        ),
    ] = None
    pain_sides: Annotated[
        Literal["both", "one"] | None,
        Ask(
            "Is it on both sides of the body, or one side?",
            "For example both thighs, or only the left one.",
            labels={"both": "Both sides", "one": "One side"},
            short="Sides",
        ),
    ] = None
    pain_character: Annotated[
        Literal["dull_ache", "sharp", "burning", "throbbing"] | None,
        Ask(
            "What does the pain feel like?",
            "Choose the word that fits best.",
            labels={
                "dull_ache": "A dull ache or stiffness",
                "sharp": "Sharp",
                "burning": "Burning",
                "throbbing": "Throbbing",
            },
            short="What the pain feels like",
        ),
    ] = None
    pain_onset: Annotated[
        Literal["sudden_during", "gradual_during", "hours_after", "next_day"] | None,
        Ask(
            "When did this pain start, or get worse if you had it before?",
            "Within an hour after the session counts as during it. Suddenly means at one "
            "moment, such as one repetition; if you are not sure, choose the one closest to it.",
            labels={
                "sudden_during": "Suddenly, at one moment during the session",
                "gradual_during": "Gradually, during the session or within an hour after it",
                "hours_after": "Some hours after the session",
                "next_day": "The next day or later",
            },
            short="When the pain started or got worse",
        ),
    ] = None
    pain_duration: Annotated[
        Literal["new", "days", "weeks", "long_term"] | None,
        Ask(
            "How long have you had this pain?",
            "Count from when this pain first began, even if it comes and goes.",
            labels={
                "new": "It is new since this session",
                "days": "It began in the last two weeks",
                "weeks": "Two weeks or more",
                "long_term": "A long-term condition (months or years, on and off)",
            },
            short="How long the pain has been there",
        ),
    ] = None
    eases_with_movement: Annotated[
        bool | None,
        Ask(
            "Does gentle movement ease the pain?",
            "For example walking about, or moving the sore part slowly.",
            labels=YES_NO,
            short="Eases with gentle movement",
        ),
    ] = None
    rest_pain: Annotated[
        bool | None,
        Ask(
            "Does it hurt when you sit or lie still?",
            "Yes if it hurts when you are still, not only when you move.",
            labels=YES_NO,
            short="Pain when still",
        ),
    ] = None
    night_pain: Annotated[
        bool | None,
        Ask(
            "Does the pain wake you from sleep?",
            "Only pain that wakes you up; pain while you lie still is asked on its own.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Pain that wakes you at night",
        ),
    ] = None
    radiating_pain: Annotated[
        SetOf[Limb],
        Ask(
            "Does pain shoot down into an arm or a leg?",
            "Pain that travels from the neck or back down an arm or leg, often with pins and "
            "needles. If you are not sure about one, choose it.",
            labels=LIMB_LABELS,
            worse=ADDING,
            short="Pain shooting into a limb",
        ),
    ] = ()
    snap_or_tear: Annotated[
        bool | Literal["unsure"],
        Ask(
            "Did you feel a pop, snap or tearing during the session?",
            "Answer 'not sure' if something felt wrong at one moment but you cannot say what.",
            labels={True: "Yes", "unsure": "Not sure", False: "No"},
            worse=((False, "unsure", True),),
            short="Pop, snap or tearing",
        ),
    ]
    swelling: Annotated[
        NoneMildMarked,
        Ask(
            "Is there any swelling at the spot or joint that hurts?",
            "Compare with the other side of the body. If you are not sure, choose the worse "
            "answer.",
            labels={"none": "No swelling", "mild": "A little", "marked": "A lot, clearly swollen"},
            worse=(("none", "mild", "marked"),),
        ),
    ]
    swelling_fast: Annotated[
        bool | None,
        Ask(
            "Did the swelling come up within 2 hours?",
            "Swelling that comes up quickly after an injury can mean bleeding inside a joint. "
            "If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Swelling within 2 hours",
        ),
    ] = None
    bruising: Annotated[
        bool | None,
        Ask(
            "Is there any bruising where it hurts?",
            "A bruise can appear a day or two after the injury.",
            labels=YES_NO,
            worse=SYMPTOM,
        ),
    ] = None
    deformity: Annotated[
        bool,
        Ask(
            "Does a joint look out of shape or feel out of place now, or does an arm or leg "
            "look bent where it should not?",
            "For example a square-looking shoulder or a kneecap pushed to one side; a bulge in "
            "a muscle is asked on its own. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Out of shape or out of place",
        ),
    ]
    muscle_bulge: Annotated[
        bool | None,
        Ask(
            "Is there a new dent, gap or bulge in a muscle?",
            "For example a muscle bunched up into a ball, or a changed fold at the front of "
            "the armpit. A joint out of place is asked on its own.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="New dent or bulge in a muscle",
        ),
    ] = None
    weakness: Annotated[
        NoneMildMarked | None,
        Ask(
            "Is that part weaker than usual?",
            "Much weaker means you cannot do an everyday movement with it, such as opening a "
            "jar. If you are not sure, choose the worse answer.",
            labels={"none": "No", "mild": "A little weaker", "marked": "Much weaker"},
            worse=(("none", "mild", "marked"),),
        ),
    ] = None
    functional_loss: Annotated[
        bool,
        Ask(
            "Is there something new you cannot do, for example put weight on a leg, stand on "
            "tiptoe, lift your arm, grip, or bend or straighten a joint?",
            "Only something you could do before the session. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Something new you cannot do",
        ),
    ]
    joint_giving_way: Annotated[
        bool | None,
        Ask(
            "Does a joint give way?",
            "As if the knee or ankle suddenly cannot hold you.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Joint gives way",
        ),
    ] = None
    joint_locked: Annotated[
        bool | None,
        Ask(
            "Is a joint stuck, so that it cannot fully straighten or bend?",
            "For example a knee that will not straighten all the way.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Joint stuck",
        ),
    ] = None
    groin_lump: Annotated[
        bool,
        Ask(
            "Have you noticed a new lump or bulge in your groin or belly?",
            "It may go back in when you lie down. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Lump in the groin or belly",
        ),
    ]
    chest_pain: Annotated[
        NoneResolvedOngoing,
        Ask(
            "Did you have chest pain, pressure or tightness during or since the session, "
            "including today?",
            "Answer yes even if it has gone or felt like a pulled muscle. If you are not sure, "
            "answer yes.",
            labels=NONE_RESOLVED_ONGOING,
            worse=ORDER_RESOLVED,
        ),
    ]
    chest_pain_kind: Annotated[
        Literal["pressure", "breathing", "tearing", "tender", "unsure"] | None,
        Ask(
            "What was the chest pain like?",
            "Choose the one that fits best. If you are not sure, choose the last answer.",
            labels={
                "pressure": "Pressure, tightness or heaviness",
                "breathing": "Sharp, and worse when breathing in",
                "tearing": "Sudden and tearing, or going through to the back",
                "tender": "Sore when I press on it or move my arm",
                "unsure": "I am not sure",
            },
            short="What the chest pain was like",
        ),
    ] = None
    referred_ache: Annotated[
        NoneResolvedOngoing | None,
        Ask(
            "Did an ache, pressure or heaviness come on with the effort in your jaw, throat, "
            "neck, shoulder or arm, not in a muscle you worked?",
            "Heart pain can be felt only there, with no chest pain. If you are not sure, choose "
            "the worse answer.",
            labels=NONE_RESOLVED_ONGOING,
            worse=ORDER_RESOLVED,
            short="Ache in the jaw, neck or arm",
        ),
    ] = None
    cold_sweat: Annotated[
        bool | None,
        Ask(
            "Did you break out in a cold sweat or feel cold and clammy?",
            "Not the ordinary sweat of hard exercise, and not feeling sick (nausea) on its own. "
            "If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Cold sweat",
        ),
    ] = None
    fainting: Annotated[
        Literal["none", "nearly", "fainted"],
        Ask(
            "Did you faint, or nearly faint?",
            "Nearly fainting means everything went grey or you had to sit or lie down at once. "
            "If you are not sure, choose the worse answer.",
            labels={"none": "No", "nearly": "I nearly fainted", "fainted": "I fainted"},
            worse=(("none", "nearly", "fainted"),),
        ),
    ]
    palpitations: Annotated[
        NoneResolvedOngoing,
        Ask(
            "Did your heart race, pound or beat irregularly, more than the effort explains?",
            "A fast heartbeat during hard sets is normal; answer yes if it felt wrong. If you "
            "are not sure, choose the worse answer.",
            labels=NONE_RESOLVED_ONGOING,
            worse=ORDER_RESOLVED,
            short="Racing or irregular heartbeat",
        ),
    ]
    breathless: Annotated[
        NoneResolvedOngoing,
        Ask(
            "Were you far more out of breath than the effort explains?",
            "More than you would expect for that exercise, or still out of breath at rest. If "
            "you are not sure, choose the worse answer.",
            labels=NONE_RESOLVED_ONGOING,
            worse=ORDER_RESOLVED,
            short="Unusual breathlessness",
        ),
    ]
    dizziness: Annotated[
        Literal["none", "brief", "resolved", "ongoing"],
        Ask(
            "Did you feel dizzy or light-headed during or since the session?",
            "As if the room were spinning, or as if you might faint. If you are not sure, "
            "choose the worse answer.",
            labels={
                "none": "No",
                "brief": "Only light-headed on standing up or right after a heavy set, gone "
                "within a minute",
                "resolved": "Yes, but it has gone",
                "ongoing": "Yes, and I still have it",
            },
            worse=(("none", "brief", "resolved", "ongoing"),),
        ),
    ]
    confusion: Annotated[
        bool,
        Ask(
            "Any confusion, slurred speech, unsteady walking, a face drooping on one side, or "
            "sudden weakness of one arm or leg?",
            "Count weakness only if it is not from pain or a sore muscle. If you are not sure, "
            "or someone with you noticed it, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Confusion, speech, face or limb weakness",
        ),
    ]
    vision_change: Annotated[
        bool,
        Ask(
            "Any sudden blurred, double or lost vision?",
            "Even if it lasted only a few minutes. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Sudden change in vision",
        ),
    ]
    headache: Annotated[
        Literal["none", "usual", "new", "thunderclap"],
        Ask(
            "Did you get a headache during or since the session, including today?",
            "Sudden and severe means the worst headache you have ever had, at its worst within "
            "a minute. If you are not sure, choose the worse answer.",
            labels={
                "none": "No",
                "usual": "Yes, like the headaches I usually get",
                "new": "Yes, a new kind of headache for me",
                "thunderclap": "Yes, sudden and severe: the worst ever",
            },
            worse=(("none", "usual", "new", "thunderclap"),),
        ),
    ]
    dark_urine: Annotated[
        bool,
        Ask(
            "Is your urine dark (tea- or cola-coloured), or much less than usual?",
            "Brown like tea or cola, not just dark yellow. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Dark or much less urine",
        ),
    ]
    tense_swollen_limb: Annotated[
        bool,
        Ask(
            "Is the whole of an arm or leg, or a whole muscle such as the calf, tense, hard and "
            "swollen, with pain much worse than you would expect?",
            "It feels tight like a drum and the pain keeps rising; swelling at one sore spot or "
            "joint is asked on its own. If you are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Whole arm, leg or muscle tense and hard",
        ),
    ]
    swollen_warm_limb: Annotated[
        bool,
        Ask(
            "Is one calf or arm swollen, warm, red or darker than the other?",
            "Compare both sides: one calf or arm thicker, warmer, or a different colour. If you "
            "are not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Swollen, warm calf or arm",
        ),
    ]
    numbness: Annotated[
        SetOf[NumbPlace],
        Ask(
            "Where, if anywhere, do you have numbness or tingling?",
            "Choose every place where you have it, even if it comes and goes. If you are not "
            "sure about a place, choose it.",
            labels={
                "one_arm": "In one arm or hand",
                "both_arms": "In both arms or hands",
                "one_leg": "In one leg or foot",
                "both_legs": "In both legs or feet",
                "saddle": "Around the groin, buttocks or inner thighs",
            },
            worse=ADDING,
            short="Numbness or tingling",
        ),
    ]
    bladder_bowel_change: Annotated[
        bool,
        Ask(
            "Any new trouble passing urine, or feeling when your bladder is full or when urine "
            "or stool passes, or new loss of control?",
            "A small leak only when you lift, cough or jump is asked on its own. If you are not "
            "sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Bladder or bowel change",
        ),
    ]
    stress_leak: Annotated[
        bool | None,
        Ask(
            "Do you leak a little urine when you lift, cough, laugh or jump?",
            "With normal feeling: you know when your bladder is full and when urine passes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Small leak when lifting",
        ),
    ] = None
    heat_illness: Annotated[
        NoneResolvedOngoing,
        Ask(
            "Did you get too hot (overheat) during or since the session, with feeling sick, a "
            "headache, heavy sweating, or hot, dry skin?",
            "Only if you got too hot. Recovered means normal within 30 minutes of cooling down; "
            "if you are not sure, choose the worse answer.",
            labels={
                "none": "No",
                "resolved": "Yes, but I recovered after cooling down",
                "ongoing": "Yes, and I still feel it",
            },
            worse=ORDER_RESOLVED,
            short="Overheating",
        ),
    ]
    unwell: Annotated[
        bool,
        Ask(
            "Do you have a fever, have you vomited (been sick), or do you feel suddenly very "
            "unwell today?",
            "Answer yes for a high temperature, vomiting, or feeling suddenly unwell. If you are "
            "not sure, answer yes.",
            labels=YES_NO,
            worse=SYMPTOM,
            short="Fever or feeling ill",
        ),
    ]

    @field_validator("hours_since_session")
    @classmethod
    def _to_four_decimals(cls, hours: float) -> float:
        """0.36 s resolution, far below any threshold; it also keeps numbers out of exponent form,
        which durable-rules' JSON parser rejects (5e-324, 1e-05). Rounded down, so that the kept
        value meets exactly the thresholds the given one meets (23.99996 stays under 24 h, as the
        FHIR questionnaire's enableWhen and the requirements read it)."""
        kept = round(hours, 4)
        return round(kept - 0.0001, 4) if kept > hours else kept

    @model_validator(mode="wrap")
    @classmethod
    def _check_conditional_fields(cls, data: Any, handler: Any) -> Report:
        """Add the conditional requirements to the field errors, so all are reported at once.
        A report already made is not checked again (a decision holds one)."""
        if isinstance(data, Report):
            return data
        try:
            report: Report = handler(data)
        except ValidationError as exc:
            errors = exc.errors()
            if not isinstance(data, dict):
                raise
            wrong = {str(e["loc"][0]) for e in errors if e["loc"]}
            extra = _conditional_problems({k: v for k, v in data.items() if k not in wrong})
            if not extra:
                raise
            raise ValidationError.from_exception_data(
                cls.__name__, [_as_init_error(e) for e in errors] + extra
            ) from None
        if _any_conditional_problem(report.__dict__):
            raise ValidationError.from_exception_data(
                cls.__name__, _conditional_problems(report.__dict__)
            )
        return report

    def answers(self) -> dict[str, Any]:
        """The normalised report: every given answer, ``reported_at`` filled, absent fields
        (and empty optional sets) left out."""
        return answers_of(self.model_dump(mode="json", exclude_none=True))


_OUR_CODES = ("moment", "number", "set_repeated")


def _as_init_error(error: Any) -> InitErrorDetails:
    code = error["type"]
    details: InitErrorDetails = {
        "type": PydanticCustomError(code, error["msg"]) if code in _OUR_CODES else code,
        "loc": error["loc"],
        "input": error["input"],
    }
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details


_REQUIRED = frozenset(name for name, info in Report.model_fields.items() if info.is_required())
_OPTIONAL_SETS = tuple(
    name
    for name, info in Report.model_fields.items()
    if typing.get_origin(info.annotation) is tuple and not info.is_required()
)
_APPLIES = tuple(compile_condition(requirement.when) for requirement in REQUIREMENTS)


def answers_of(dumped: dict[str, Any]) -> dict[str, Any]:
    """``Report.answers`` of a report already dumped (JSON mode, without None; a decision's
    ``to_dict()`` holds one): a new dict, without the empty optional sets (the only answers
    that can be an empty list)."""
    data = dict(dumped)
    for name in _OPTIONAL_SETS:
        if data.get(name) == []:
            del data[name]
    return data


def _violated(requirement: Requirement) -> Condition:
    """When ``requirement`` is not met, as one condition: ``_conditional_problems`` finds a
    problem for it exactly when this holds (an answer is given when it is present)."""
    given = Test(requirement.field, "present", True)
    cases: list[Condition] = []
    if requirement.required:
        cases.append(All((requirement.when, Not(given))))
    if requirement.only:
        cases.append(All((given, Not(requirement.when))))
    return AnyOf(tuple(cases))


_any_conditional_problem = compile_condition(AnyOf(tuple(map(_violated, REQUIREMENTS))))
"""Whether ``_conditional_problems`` finds any problem, in one call (a valid report, the usual
case, needs no list of them; tests/unit/contract/test_report.py holds the two to each other)."""


def _conditional_problems(values: Mapping[str, Any]) -> list[InitErrorDetails]:
    """Requirements that depend on other answers (``REQUIREMENTS``). ``values`` holds only
    answers of the right type, so a wrong score is reported once, as itself, not again as a
    missing dependant."""
    problems: list[InitErrorDetails] = []
    for requirement, applies_to in zip(REQUIREMENTS, _APPLIES, strict=True):
        applies = applies_to(values)
        given = values.get(requirement.field) not in (None, [], ())
        if requirement.required and applies and not given:
            problems.append(
                _problem(requirement.field, "required_when", requirement.required_text())
            )
        if requirement.only and given and not applies:
            problems.append(_problem(requirement.field, "only_when", requirement.only_text()))
    return problems


def _problem(name: str, code: str, message: str) -> InitErrorDetails:
    return {"type": PydanticCustomError(code, message), "loc": (name,), "input": None}
