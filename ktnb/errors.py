"""Errors a user can fix. Each message is one line that names the thing to change."""


class KtnbError(ValueError):
    """Base class for mistakes in the input to ktnb (data, labels, model paths, settings).

    It subclasses ValueError so that code catching ValueError keeps working; the notebook
    layer shows these as one line, without a traceback. The message is kept on one line
    whatever user text it quotes: a line break in it is shown as ``\\n``.

    >>> str(KtnbError("no column 'a\\nb'"))
    "no column 'a\\\\nb'"
    """

    def __init__(self, message: object = "", *args: object) -> None:
        text = str(message).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
        super().__init__(text, *args)


class DataError(KtnbError):
    """The data can't be read as labelled text: a missing file, an empty table, a wrong column."""


class LabelError(KtnbError):
    """The labels don't fit the task: one class only, or a label the model was not trained on."""


class ModelError(KtnbError):
    """The model can't be found or loaded: no such directory, no weights, an unknown hub name."""


class TrainingError(KtnbError):
    """A training request can't be carried out as asked (too few batches, no validation data)."""


class KtnbWarning(UserWarning):
    """Training ran but the result looks wrong (a model that predicts one class, a run that ended
    worse than its best epoch); the message says what to try."""
