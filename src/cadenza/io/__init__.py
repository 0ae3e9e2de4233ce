"""File I/O: the only code that opens audio, IMU and tag files.

Every loader returns arrays with time on the last axis and units in the names (``acc_m_s2``,
``sampling_rate_hz``), ready for the pure packages:

>>> import cadenza.io
>>> "load_audio" in dir(cadenza.io)
True

Keeping this face lazy matters most here: ``cadenza.io.audio`` is preloaded into the sandboxed decoder
processes (:mod:`cadenza.io.isolated`), whose address-space limit counts everything imported, and an
eager face would add the gait, music and speech code (scipy, about 200 MB of address space) to each.
"""

from cadenza._lazy import attach

# The face: each public name and the submodule it comes from, imported on first use (PEP 562), so that
# importing one submodule (as the clinical record and the CLI do) costs no more than that submodule.
__getattr__, __dir__, __all__ = attach(__name__, {
    "annotated_datasets": ["AnnotatedOnsets", "AnnotatedSinging", "load_four_way_tabla", "load_vocadito"],
    "audio": ["Audio", "load_audio", "save_audio"],
    "event_files": ["load_event_times", "load_midi_onsets"],
    "gait_datasets": ["FootRecording", "LowerBackRecording", "ReferenceBout", "load_gaitmap_healthy", "load_mobgap_lab",
                      "load_mobgap_lab_participant"],
    "imu": ["ImuRecording", "load_imu_csv", "parse_imu_csv", "save_imu_csv"],
    "library_files": ["ScanReport", "ScannedTrack", "analyze_file", "find_audio_files", "scan_library"],
    "pressure": ["PressureRecording", "load_suck_pressure", "load_vital_signs"],
    "speech": ["espeak_available", "load_lexicon", "prepare_cue_material", "save_midi", "synthesize_speech"],
    "tags": ["TrackTags", "read_tags"],
})

TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for editors and type checkers
    from cadenza.io.annotated_datasets import AnnotatedOnsets, AnnotatedSinging, load_four_way_tabla, load_vocadito
    from cadenza.io.audio import Audio, load_audio, save_audio
    from cadenza.io.event_files import load_event_times, load_midi_onsets
    from cadenza.io.gait_datasets import (
        FootRecording,
        LowerBackRecording,
        ReferenceBout,
        load_gaitmap_healthy,
        load_mobgap_lab,
        load_mobgap_lab_participant,
    )
    from cadenza.io.imu import ImuRecording, load_imu_csv, parse_imu_csv, save_imu_csv
    from cadenza.io.library_files import ScanReport, ScannedTrack, analyze_file, find_audio_files, scan_library
    from cadenza.io.pressure import PressureRecording, load_suck_pressure, load_vital_signs
    from cadenza.io.speech import espeak_available, load_lexicon, prepare_cue_material, save_midi, synthesize_speech
    from cadenza.io.tags import TrackTags, read_tags
