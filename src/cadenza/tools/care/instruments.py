"""Pain, mood and dementia instruments of the music-therapy trials (clinical review M8, M9), with their
licences. Where the terms allow free use the items are recorded; where an instrument is licensed (or its
terms could not be confirmed) only its total score is recorded, never its item texts, with a note naming
the holder. docs/care.md lists each decision.

Band boundaries are cited per instrument (``source``); the known-answer tests check every boundary.
"""

from __future__ import annotations

from cadenza.clinic.instruments import Band, Instrument

VAS_PAIN = Instrument(
    code="vas_pain", name="Visual analogue scale, pain", unit="mm", minimum=0, maximum=100, better="decrease",
    min_age_years=6,
    age_note="self-report intensity scales (NRS-11, VAS) have supporting evidence from age 6, Birnie et al. 2019, "
             "Pain 160:5",
    licence="Free to use: a 100 mm line anchored 'no pain' and 'worst pain imaginable' is a generic method, "
            "not a published form under copyright.",
    source="0-100 mm line (Huskisson 1974, Lancet 2:1127); local code (no LOINC confirmed)",
)

FLACC = Instrument(
    code="flacc", name="FLACC behavioural pain scale (total)", unit="{score}", minimum=0, maximum=10,
    better="decrease", integer=True, max_age_years=7,
    age_note="developed for children 2 months to 7 years who cannot self-report, Merkel et al. 1997",
    bands=(Band(0, "relaxed and comfortable"), Band(1, "mild discomfort"), Band(4, "moderate pain"),
           Band(7, "severe discomfort or pain")),
    licence="Copyright 2002 The Regents of the University of Michigan; widely reproduced for clinical use, but free "
            "terms for software could not be confirmed, so only the observer's total (five categories scored 0-2) "
            "is recorded, not the form's descriptors.",
    source="Merkel et al. 1997, Pediatr Nurs 23:293-297: face, legs, activity, cry, consolability, each 0-2, "
           "total 0-10; bands 0 / 1-3 / 4-6 / 7-10 as commonly used in clinical guides; local code",
)

NIPS = Instrument(
    code="nips", name="Neonatal Infant Pain Scale (total)", unit="{score}", minimum=0, maximum=7,
    better="decrease", integer=True, max_age_years=1,
    age_note="for preterm and term neonates up to 6 weeks after term (Lawrence et al. 1993); a project convention "
             "refuses it only from age 2",
    bands=(Band(0, "no pain"), Band(3, "mild to moderate pain"), Band(5, "severe pain")),
    licence="Published by Lawrence et al. 1993 (Children's Hospital of Eastern Ontario); free terms for software "
            "could not be confirmed, so only the total is recorded.",
    source="Lawrence et al. 1993, Neonatal Netw 12(6):59-66: facial expression 0-1, cry 0-2, breathing 0-1, arms "
           "0-1, legs 0-1, state of arousal 0-1, total 0-7; 0-2 no pain, 3-4 mild to moderate, 5 or more severe; "
           "local code",
)

WONG_BAKER = Instrument(
    code="wong_baker", name="Wong-Baker FACES pain rating (score)", unit="{score}", minimum=0, maximum=10,
    better="decrease", loinc="38221-8", integer=True, min_age_years=3,
    age_note="a self-report scale for people aged 3 and over (Wong-Baker FACES Foundation)",
    licence="Copyright 1983 Wong-Baker FACES Foundation: use in software or publications needs the Foundation's "
            "licence, so Cadenza shows no faces and records only the score of the face the person chose "
            "(0, 2, 4, 6, 8 or 10).",
    source="LOINC 38221-8 (Pain severity Wong-Baker FACES pain rating scale); six faces scored 0-10 in steps of 2",
)

# HADS: licensed (GL Assessment); each subscale's total only. Bands after Zigmond & Snaith 1983.
_HADS_LICENCE = ("Copyright R.P. Snaith and A.S. Zigmond 1983, 1992, 1994; published by GL Assessment, which licenses "
                 "its use: Cadenza records only the subscale total, never the items.")
_HADS_BANDS = (Band(0, "normal"), Band(8, "borderline"), Band(11, "abnormal (case)"))
_HADS_AGE = "developed in adult hospital outpatients, Zigmond & Snaith 1983"
HADS_ANXIETY = Instrument(
    code="hads_a", name="HADS anxiety subscale (total)", unit="{score}", minimum=0, maximum=21, better="decrease",
    integer=True, bands=_HADS_BANDS, licence=_HADS_LICENCE, min_age_years=16, age_note=_HADS_AGE,
    source="Zigmond & Snaith 1983, Acta Psychiatr Scand 67:361-370: 7 items 0-3, 0-7 normal, 8-10 borderline, "
           "11-21 abnormal; local code",
)
HADS_DEPRESSION = Instrument(
    code="hads_d", name="HADS depression subscale (total)", unit="{score}", minimum=0, maximum=21, better="decrease",
    integer=True, bands=_HADS_BANDS, licence=_HADS_LICENCE, min_age_years=16, age_note=_HADS_AGE,
    source="Zigmond & Snaith 1983, Acta Psychiatr Scand 67:361-370: 7 items 0-3, 0-7 normal, 8-10 borderline, "
           "11-21 abnormal; local code",
)

# Cornell Scale for Depression in Dementia: clinician-rated, 19 items 0-2 (an item that cannot be evaluated
# is scored 0). Item names are the scale's symptom headings, not its descriptors.
CSDD_ITEMS = ("anxiety", "sadness", "lack_of_reactivity", "irritability", "agitation", "retardation",
              "physical_complaints", "loss_of_interest", "appetite_loss", "weight_loss", "lack_of_energy",
              "diurnal_variation", "difficulty_falling_asleep", "multiple_awakenings", "early_awakening",
              "suicide", "poor_self_esteem", "pessimism", "mood_congruent_delusions")
CSDD = Instrument(
    code="csdd", name="Cornell Scale for Depression in Dementia", unit="{score}", minimum=0, maximum=38,
    better="decrease", integer=True, items=CSDD_ITEMS, item_min=0, item_max=2,
    bands=(Band(0, "below the probable-depression cut-off"), Band(11, "probable major depression"),
           Band(19, "definite major depression")),
    safety_item="suicide", safety_threshold=1,
    min_age_years=40, age_note="developed in older people with dementia (Alexopoulos et al. 1988); the floor is a "
                               "project convention",
    licence="Published by Alexopoulos et al. 1988 (Biol Psychiatry 23:271-284) for clinical use; no licence fee is "
            "known to us. Cadenza stores the 19 ratings by symptom heading, without the scale's descriptors.",
    source="Alexopoulos et al. 1988: 19 items 0-2, total 0-38; above 10 probable, above 18 definite major "
           "depression; local code",
)

# Geriatric Depression Scale, 15 items (Sheikh & Yesavage 1986), public domain: 1 = "yes", 0 = "no"; a
# depressive answer scores 1, which is "no" for items 1, 5, 7, 11 and 13 (scored reversed).
GDS15_ITEM_TEXTS = (
    "Are you basically satisfied with your life?",
    "Have you dropped many of your activities and interests?",
    "Do you feel that your life is empty?",
    "Do you often get bored?",
    "Are you in good spirits most of the time?",
    "Are you afraid that something bad is going to happen to you?",
    "Do you feel happy most of the time?",
    "Do you often feel helpless?",
    "Do you prefer to stay at home, rather than going out and doing new things?",
    "Do you feel you have more problems with memory than most?",
    "Do you think it is wonderful to be alive now?",
    "Do you feel pretty worthless the way you are now?",
    "Do you feel full of energy?",
    "Do you feel that your situation is hopeless?",
    "Do you think that most people are better off than you are?",
)
GDS15 = Instrument(
    code="gds15", name="Geriatric Depression Scale, 15 items", unit="{score}", minimum=0, maximum=15,
    better="decrease", integer=True, items=tuple(f"q{i}" for i in range(1, 16)), item_texts=GDS15_ITEM_TEXTS,
    item_min=0, item_max=1, reverse_items=frozenset({"q1", "q5", "q7", "q11", "q13"}),
    bands=(Band(0, "normal"), Band(5, "mild depression"), Band(9, "moderate depression"),
           Band(12, "severe depression")),
    min_age_years=50, age_note="built for older adults (Yesavage et al. 1983); the floor of 50 is a project convention",
    licence="Public domain (Stanford, J. Yesavage: the GDS was developed with US federal support); free to use.",
    source="Sheikh & Yesavage 1986, Clin Gerontol 5:165-173: answers 1 = yes, 0 = no; items 1, 5, 7, 11, 13 "
           "score the answer 'no'; 0-4 normal, 5-8 mild, 9-11 moderate, 12-15 severe (commonly used bands); local code",
)

INSTRUMENTS = (VAS_PAIN, FLACC, NIPS, WONG_BAKER, HADS_ANXIETY, HADS_DEPRESSION, CSDD, GDS15)
