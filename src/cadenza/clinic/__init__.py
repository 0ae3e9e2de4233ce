"""The clinical record: storage, services, instruments, progress, FHIR export."""
