"""Errors a user can fix. Each message is one line that names the thing to change."""


class KtnbError(ValueError):
    """Base class for mistakes in the input to ktnb (data, labels, model paths, settings).

    It subclasses ValueError so that code catching ValueError keeps working; the notebook
    layer shows these as one line, without a traceback.
    """


class DataError(KtnbError):
    """The data can't be read as labelled text: a missing file, an empty table, a wrong column."""


class LabelError(KtnbError):
    """The labels don't fit the task: one class only, or a label the model was not trained on."""


class ModelError(KtnbError):
    """The model can't be found or loaded: no such directory, no weights, an unknown hub name."""


class TrainingError(KtnbError):
    """A training request can't be carried out as asked (too few batches, no validation data)."""
