"""Domain errors shared by every layer; only ``cadenza.web`` maps them to HTTP."""


class CadenzaError(Exception):
    """Base class for every error Cadenza raises on purpose."""


class ParameterError(CadenzaError, ValueError):
    """An argument or input value is out of range, malformed or of the wrong unit."""


class NotFoundError(CadenzaError):
    """A requested record (client, goal, session, file) does not exist or is not visible."""


class PermissionDeniedError(CadenzaError):
    """The acting user may not read or change the requested record."""


class ConflictError(CadenzaError):
    """The change conflicts with stored state (duplicate code, stale version)."""


class DataQualityError(ParameterError):
    """A signal or file is readable but unusable: NaN runs, gaps, clipping, too short, corrupt."""
