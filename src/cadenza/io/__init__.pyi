"""Public names of cadenza.io, by submodule: read by type checkers and, at run time, by
cadenza._lazy.attach_stub (the face in __init__.py)."""

from .annotated_datasets import AnnotatedOnsets, AnnotatedSinging, load_four_way_tabla, load_vocadito
from .audio import Audio, load_audio, save_audio
from .daphnet import DaphnetRecording, find_daphnet_files, load_daphnet, parse_daphnet
from .event_files import load_event_times, load_midi_onsets
from .gait_datasets import FootRecording, LowerBackRecording, ReferenceBout, load_gaitmap_healthy, load_mobgap_lab, load_mobgap_lab_participant
from .midi_notes import load_midi_take
from .imu import ImuRecording, load_imu_csv, parse_imu_csv, save_imu_csv
from .insole import InsoleRecording, find_gaitpdb_files, load_insole, parse_force_csv, parse_gaitpdb, parse_insole
from .library_files import ScanReport, ScannedTrack, analyze_file, find_audio_files, scan_library
from .pressure import PressureRecording, load_suck_pressure, load_vital_signs
from .speech import espeak_available, load_lexicon, prepare_cue_material, save_midi, synthesize_speech
from .tags import TrackTags, read_tags
from .word_frequency import WordFrequencies, load_word_frequencies
