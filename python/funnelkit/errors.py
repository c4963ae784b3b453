"""Exceptions raised by funnelkit.

Every problem with a funnel raises a subclass of :class:`FunnelError` (itself a
:class:`ValueError`) whose message names the stage, edge or JSON path at fault; the same name
is kept in ``.subject`` for programs::

    >>> import funnelkit as fk
    >>> try:
    ...     fk.Funnel().add_stage("visit").add_edge("visit", "cart", 0.5)
    ... except fk.UnknownStageError as error:
    ...     print(error.subject)
    cart
"""

from __future__ import annotations

__all__ = [
    "ConvergenceError",
    "DistributionError",
    "DuplicateEdgeError",
    "DuplicateStageError",
    "EmptyFunnelError",
    "EmptyLogError",
    "EventDataError",
    "EventLogError",
    "FeatureValueError",
    "ForecastError",
    "FunnelError",
    "FunnelFormatError",
    "LabelError",
    "MissingColumnError",
    "MissingFeatureError",
    "MissingFileError",
    "NoExitError",
    "NotFittedError",
    "ProbabilityError",
    "RowSumError",
    "SchemaVersionError",
    "ScorerFormatError",
    "ScoringError",
    "StrategyError",
    "StructureError",
    "UnknownDistributionError",
    "UnknownEventError",
    "UnknownStageError",
]


class FunnelError(ValueError):
    """Base class: the funnel, its document or an argument is not valid."""

    #: The stage, edge ("a -> b") or JSON path at fault, or None for the funnel as a whole.
    subject: str | None = None

    def __init__(self, *args: object, subject: str | None = None) -> None:
        super().__init__(*args)
        if subject is not None:
            self.subject = subject


class FunnelFormatError(FunnelError):
    """Malformed JSON, or a document that does not follow the funnel schema."""


class MissingFileError(FunnelFormatError, FileNotFoundError):
    """A funnel document's path that does not exist (also a :class:`FileNotFoundError`)."""


class SchemaVersionError(FunnelFormatError):
    """The document was written with a schema version this funnelkit cannot read."""


class EmptyFunnelError(FunnelError):
    """The funnel has no stages."""


class UnknownStageError(FunnelError):
    """A stage name that the funnel does not define."""


class DuplicateStageError(FunnelError):
    """Two stages with the same name."""


class DuplicateEdgeError(FunnelError):
    """Two edges between the same pair of stages."""


class ProbabilityError(FunnelError):
    """A probability that is NaN, negative or above 1, or unusable entry weights."""


class RowSumError(ProbabilityError):
    """A stage's outgoing probabilities sum above 1 (or below 1 under the strict rule)."""


class NoExitError(FunnelError):
    """A transient stage that can never finish: no path from it reaches an absorbing stage."""


class StructureError(FunnelError):
    """Other structural misuse, such as an edge leaving an absorbing stage."""


class DistributionError(FunnelError):
    """Invalid distribution parameters or arguments."""


class UnknownDistributionError(DistributionError):
    """A distribution type that is neither built in nor registered."""


class ConvergenceError(FunnelError):
    """An iterative solve of a large funnel component did not reach its tolerance (relative
    residual 1e-13) and no direct solve could stand in; ``subject`` names a stage of the
    component. Loops left with a tiny probability are the usual cause."""



class EventLogError(FunnelError):
    """Base class: an event log that cannot be read or used as given."""


class MissingColumnError(EventLogError):
    """A column the event log needs (lead, time, event, value or a segment) is not there."""


class EventDataError(EventLogError):
    """Rows with a null lead, event or timestamp, an unparseable or out-of-range timestamp, or
    an event after the log's cut; ``subject`` names the column."""


class EmptyLogError(EventLogError):
    """An event log with no rows, or none left after skipping bad rows."""


class UnknownEventError(EventLogError):
    """An event name (in a funnel report's steps or exclusions) that the event log does not
    contain; ``subject`` is the name. The message lists close matches from the log."""


class ScoringError(FunnelError):
    """Base class: a scorer, its features or its labels cannot be used as given."""


class ScorerFormatError(ScoringError):
    """A saved scorer that is not a funnelkit scorer document, was written by another format
    version, or names a scorer type that is neither built in nor registered."""


class MissingFeatureError(ScoringError, KeyError):
    """Features a scorer needs are not in the feature table; ``subject`` names the first."""

    def __str__(self) -> str:  # KeyError would quote the message
        return ValueError.__str__(self)


class FeatureValueError(ScoringError):
    """A feature column holding NaN or infinite values (or not numeric); ``subject`` names it."""


class LabelError(ScoringError):
    """Training labels that are not 0/1, hold one class only, or do not match the features."""


class NotFittedError(ScoringError, AttributeError):
    """A learned scorer used before :meth:`fit` (also an :class:`AttributeError`, as in
    scikit-learn)."""


class StrategyError(FunnelError):
    """A trigger strategy, campaign or traffic plan the simulation cannot run: a trigger naming
    an unknown stage, a negative delay, a probability outside [0, 1], a control share of 1, a
    strategy document of another format or version."""


class ForecastError(FunnelError):
    """Inputs a forecast or its unit economics cannot use: a negative count or amount, zero
    visitors, more buyers than visitors, economics that do not match the source, two unit
    economics that cannot be compared; ``subject`` names the field at fault."""
