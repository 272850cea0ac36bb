"""``%%ktrain`` (the whole workflow from a YAML cell) and ``%ktrain`` (one step at a time).

    %load_ext ktnb

    %%ktrain -o clf
    data: sst2
    max_train: 2000
    lr: 1e-4
    epochs: 1
    show: [report, confusion]
    attention: a gorgeous , witty film

    %ktrain predict "a dull film"
    %ktrain fit 5e-5 1
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import yaml
from IPython.display import HTML
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from ..errors import KtnbError
from .display import frame_html, show, show_warning

COMMANDS = ("lr_find", "fit", "autofit", "resume", "evaluate", "predict", "generate", "attention", "explain",
            "top_losses", "history", "save", "panel", "show", "export", "launch")


def _unquote(arg: str) -> str:
    """IPython splits magic lines without POSIX rules, so "a film" keeps its quotes."""
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"":
        return arg[1:-1]
    return arg


def _one_line(err: BaseException) -> UsageError:
    """IPython prints a UsageError as one line, with no traceback."""
    return UsageError(str(err).splitlines()[0] if str(err) else type(err).__name__)


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice (plain YAML keeps the last one silently)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool, type(None))):  # "{frame}: 1" makes a mapping a key
            raise UsageError(f"the %%ktrain cell has a key that is not a name (line {key_node.start_mark.line + 1}): "
                             f"{key!r:.40}; write one setting a line as  key: value")
        if key in seen:
            raise UsageError(f"the %%ktrain cell gives {key!r} twice (line {key_node.start_mark.line + 1}); "
                             "keep one")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _show_safely(name: str, draw: Callable[[], Any]) -> None:
    """A picture that fails to draw is one line on stderr; it never costs the trained session."""
    try:
        draw()
    except Exception as err:  # noqa: BLE001 - the session is already stored; say what could not be shown
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"ktnb: could not show {name} ({type(err).__name__}: {first})", file=sys.stderr)


@magics_class
class KtnbMagics(Magics):
    """Sessions live here by name; the last one is the default for ``%ktrain`` steps."""

    def __init__(self, shell: Any):
        super().__init__(shell)
        self.sessions: dict[str, Any] = {}
        self.last: str | None = None

    @magic_arguments()
    @argument("-o", "--out", default="clf",
              help="cell form: the variable that receives the session (clf.learner, clf.predictor, clf.report)")
    @argument("-s", "--session", default=None, help="line form: the session to use (default: the last one)")
    @argument("-q", "--quiet", action="store_true", help="show no progress")
    @argument("-l", "--launch", type=int, default=None, metavar="N",
              help="cell form: train in N processes (ktnb.launch) instead of in the kernel, which gets the trained "
                   "learner back for the rest of the cell")
    @argument("command", nargs="?", default=None,
              help="line form: one of " + ", ".join(COMMANDS) + ". fit LR [EPOCHS [SCHEDULE]] (LR may be 'find'); "
                   "autofit LR [MAX_EPOCHS]; resume DIR (carry on a checkpointed run, in a new kernel too); "
                   "lr_find [EPOCHS]; evaluate; predict TEXT...; generate PROMPT [MAX_NEW_TOKENS] (a language model "
                   "writes, shown as it writes); attention TEXT [LAYER|rollout [HEAD]]; explain TEXT [TEXT] [TARGET] (which words "
                   "made the model decide); "
                   "top_losses [N]; history; save DIR; panel [DATA] (no session needed); show NAME (a step of the cell: report, confusion, "
                   "lr_find, attention); export FILE.py (the session as a script for torchrun or accelerate launch); "
                   "launch [N] (the session's cell again, trained in N processes, 2 by default)")
    @argument("args", nargs="*", help="the command's arguments")
    @no_var_expand  # $ and {..} stay literal: the body is YAML, filled by ktnb after parsing
    @line_cell_magic
    def ktrain(self, line: str, cell: str | None = None) -> Any:
        """Fine-tune and inspect a text classifier.

        Cell form: the body is YAML naming the data (a path, a notebook variable, or sst2) and the
        settings (model, max_len, batch_size, lr: NUMBER or find, epochs, schedule,
        early_stopping, show, attention, predict, save). ``{var}`` in a value is filled from
        the notebook after the YAML is read (``{{var}}`` is literal); ``$`` is never expanded.
        The session is stored under ``-o NAME`` as soon as the model is loaded.

        Line form: one step on the last (or ``-s NAME``) session, e.g. ``%ktrain fit 5e-5 1``.
        """
        try:
            args = parse_argstring(self.ktrain, line)  # bad options are a UsageError already
        except ValueError as err:  # shlex: "No closing quotation"
            raise UsageError(f"the %ktrain line has an unclosed quote ({err}); close it") from None
        try:
            if cell is not None:
                return self._run_cell(args, cell)
            if args.command is None:
                raise UsageError("%ktrain needs a command: " + ", ".join(COMMANDS) + " (see %ktrain?)")
            return self._run_line(args)
        except KtnbError as err:
            raise _one_line(err) from None

    # ------------------------------------------------------------------ cell form

    def _user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def _parse_cell(self, cell: str) -> dict[str, Any]:
        """The body as YAML first; then ``{name}`` is filled inside the values only."""
        from ..workflow import fill_placeholders

        try:
            config = yaml.load(cell, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            where = getattr(err, "problem_mark", None)
            line = f" (line {where.line + 1})" if where is not None else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise UsageError(f"the %%ktrain cell is not valid YAML{line}: {problem}") from None
        if config is None:
            raise UsageError("the %%ktrain cell is empty; give at least  data: PATH")
        if not isinstance(config, dict):
            raise UsageError(f"the %%ktrain cell must be key: value lines (e.g. data: train.csv), not a "
                             f"{'list' if isinstance(config, list) else type(config).__name__}")
        return fill_placeholders(config, self._user_ns())

    def _namespace_value(self, value: Any) -> Any:
        """A string naming a notebook variable stands for that variable."""
        user_ns = self.shell.user_ns if self.shell is not None else {}
        if isinstance(value, str) and value.isidentifier() and value in user_ns:
            return user_ns[value]
        return value

    def _run_cell(self, args: Any, cell: str) -> None:
        from ..config import check_config
        from ..workflow import run_workflow
        from .progress import NotebookProgress

        config = check_config(self._parse_cell(cell))
        data = self._namespace_value(config["data"])
        config["val"] = self._namespace_value(config["val"])
        config["test"] = self._namespace_value(config["test"])

        listeners = [] if args.quiet else [NotebookProgress()]
        if args.launch is not None:
            from ..launch import launch

            if args.launch < 1:
                raise UsageError(f"--launch N needs a whole number of processes, at least 1, got {args.launch}")
            session = launch(config, args.launch, data=data, callbacks=listeners, progress=False,
                             on_step=self._step_view(args.out))
            print(f"{args.out}: {session!r} (trained in {args.launch} processes)")
            return
        session = run_workflow(config, data=data, callbacks=listeners, on_step=self._step_view(args.out),
                               progress=False)
        print(f"{args.out}: {session!r}")

    def _step_view(self, out: str) -> Callable[[str, Any], None]:
        """What shows each step of a workflow as it ends, the session kept under `out`."""

        def store(session: Any) -> None:
            self.sessions[out] = session
            self.last = out
            if self.shell is not None:
                self.shell.user_ns[out] = session

        def session_task() -> Any:
            return self.sessions[out].learner.task

        def shown_steps() -> set[str]:  # the workflow fills in the task's default pictures
            return set(self.sessions[out].config["show"])

        def on_step(name: str, result: Any) -> None:
            if name == "session":
                store(result)
            else:
                _show_safely(name.replace("_", " "), lambda: render(name, result))

        def render(name: str, result: Any) -> None:
            shown = shown_steps()
            if name == "lr_find":
                print(f"lr_find suggests {result.suggestion:.2e} ({result.suggested_by}, for {result.epochs} "
                      f"epoch{'s' if result.epochs > 1 else ''})")
                if "lr_find" in shown:
                    show(result.plot())
            elif name == "fit" and "history" in shown:
                show(result.plot())
            elif name == "report":
                if "report" in shown:
                    show(result)
                task = session_task()
                for picture in task.pictures:
                    if picture in shown:
                        _show_safely(task.picture_titles.get(picture, picture), lambda: show(result.pictures()[picture]))
            elif name == "top_losses":
                show(frame_html(result, "ktnb-top-losses"))
            elif name == "attention":
                show(result)
            elif name == "interrupted":
                show_warning(result)
            elif name == "predict":
                show(result)
            elif name == "explain":
                for explanation in result:
                    show(HTML(explanation._repr_html_()))
            elif name == "save":
                print(f"saved the predictor to {result}")

        return on_step

    # ------------------------------------------------------------------ line form

    def _session(self, name: str | None) -> Any:
        name = name or self.last
        if name is None or name not in self.sessions:
            if name is not None and self.shell is not None and hasattr(self.shell.user_ns.get(name), "learner"):
                return self.shell.user_ns[name]
            raise UsageError("no ktnb session yet: run a %%ktrain cell first" if name is None
                             else f"no ktnb session named {name!r}; known: {', '.join(self.sessions) or 'none'}")
        return self.sessions[name]

    def _run_line(self, args: Any) -> Any:
        from ..workflow import fill_placeholders

        command = args.command
        rest = list(fill_placeholders({command: [_unquote(a) for a in args.args]}, self._user_ns())[command])
        handler: Callable[[Any, list[str]], Any] | None = getattr(self, f"_cmd_{command}", None)
        if command not in COMMANDS or handler is None:
            raise UsageError(f"unknown %ktrain command {command!r}; choose one of: {', '.join(COMMANDS)}")
        self._line_args = args
        if command in ("resume", "panel"):  # need no session: resume rebuilds one, the panel starts from data
            if command == "panel" and args.session is not None:
                return handler(self._session(args.session), rest)
            return handler(self.sessions.get(args.session or self.last or ""), rest)
        return handler(self._session(args.session), rest)

    @staticmethod
    def _number(text: str, what: str, kind: type = float) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise UsageError(f"{what} must be a {'whole ' if kind is int else ''}number, got {text!r}") from None
        return value

    def _lr(self, session: Any, text: str, epochs: int) -> float:
        if text == "find":
            session.lr_finder = session.learner.lr_find(epochs=epochs)
            print(f"lr_find suggests {session.lr_finder.suggestion:.2e} for {epochs} epoch(s)")
            return session.lr_finder.suggestion
        return self._number(text, "LR")

    def _cmd_lr_find(self, session: Any, rest: list[str]) -> None:
        epochs = self._number(rest[0], "EPOCHS", int) if rest else session.learner.auto_epochs()
        finder = session.lr_finder = session.learner.lr_find(epochs=epochs)
        print(f"suggestion {finder.suggestion:.2e} ({finder.suggested_by}, for {epochs} epoch(s)); all readings: "
              + ", ".join(f"{k} {v:.2e}" for k, v in finder.suggestions.items()))
        show(finder.plot())

    def _cmd_fit(self, session: Any, rest: list[str]) -> None:
        if not rest:
            raise UsageError("usage: %ktrain fit LR [EPOCHS [SCHEDULE]]   e.g. %ktrain fit 5e-5 1 onecycle")
        epochs = self._number(rest[1], "EPOCHS", int) if len(rest) > 1 else 1
        lr = self._lr(session, rest[0], epochs)
        session.learner.fit(lr, epochs, rest[2] if len(rest) > 2 else "onecycle")

    def _cmd_autofit(self, session: Any, rest: list[str]) -> None:
        if not rest:
            raise UsageError("usage: %ktrain autofit LR [MAX_EPOCHS]")
        lr = self._lr(session, rest[0], session.learner.auto_epochs())
        session.learner.autofit(lr, self._number(rest[1], "MAX_EPOCHS", int) if len(rest) > 1 else 20)

    def _cmd_resume(self, session: Any, rest: list[str]) -> None:
        """``%ktrain resume DIR``: carry on the run checkpointed in DIR, on the session that trained
        it when there is one, else (a new kernel) on a learner rebuilt from the checkpoint, stored
        as a new session (``-s NAME``, default clf)."""
        from ..builders import load_learner
        from ..workflow import Session
        from .progress import NotebookProgress

        args = self._line_args
        if len(rest) != 1:
            raise UsageError("usage: %ktrain resume DIR   (the checkpoint_dir of the run)")
        name = args.session or self.last
        if session is None or session.learner.checkpoint_dir is None or \
                os.path.realpath(session.learner.checkpoint_dir) != os.path.realpath(rest[0]):
            learner = load_learner(rest[0])
            session = Session({"checkpoint_dir": rest[0]}, learner.data, learner)
            name = args.session or "clf"
            self.sessions[name], self.last = session, name
            if self.shell is not None:
                self.shell.user_ns[name] = session
        session.learner.resume(rest[0], callbacks=[] if args.quiet else [NotebookProgress()])
        if session.learner.val_ds is not None:
            session.report = session.learner.evaluate()
            show(session.report)
        print(f"{name}: {session!r}")

    def _cmd_evaluate(self, session: Any, rest: list[str]) -> None:
        session.report = session.learner.evaluate(self._namespace_value(rest[0]) if rest else None)
        show(session.report)
        for figure in session.report.pictures().values():
            show(figure)

    def _cmd_predict(self, session: Any, rest: list[str]) -> None:
        if not rest:
            raise UsageError('usage: %ktrain predict "some text" ["more text" ...]')
        if any(not text.strip() for text in rest):
            raise UsageError("predict needs text: one of the texts is empty")
        show(session.learner.predictor().view(rest))

    def _cmd_generate(self, session: Any, rest: list[str]) -> str:
        """``%ktrain generate "prompt" [MAX_NEW_TOKENS]``: the session's language model writes
        after the prompt, shown growing in place; an interrupt stops it and keeps the text."""
        from .streaming import show_stream

        if not rest or not rest[0].strip():
            raise UsageError('usage: %ktrain generate "a prompt" [MAX_NEW_TOKENS]')
        limit = self._number(rest[1], "MAX_NEW_TOKENS", int) if len(rest) > 1 else None
        session.generated = show_stream(session.learner.predictor().stream(rest[0], limit), rest[0])
        return None

    def _cmd_attention(self, session: Any, rest: list[str]) -> None:
        """``%ktrain attention "text" [LAYER [HEAD]]``: the interactive attention view; LAYER may
        be ``rollout`` (through every layer); the view has a switch that hides [CLS] and [SEP]."""
        if not rest:
            raise UsageError('usage: %ktrain attention "some text" [LAYER [HEAD]] (counted from 1, as the view '
                             'labels them; LAYER may be rollout)')
        att = session.learner.attention(rest[0])
        rolled = len(rest) > 1 and rest[1] == "rollout"
        if rolled and len(rest) > 2:
            raise UsageError("the rollout mixes every head of every layer: give no HEAD after rollout")
        picked = []
        for position, limit, what in ((1, att.layers, "LAYER"), (2, att.heads, "HEAD")):
            if position == 1 and len(rest) > 1 and not rolled and not rest[1].lstrip("-").isdigit():
                raise UsageError(f"LAYER must be a whole number from 1 to {att.layers}, or rollout, got {rest[1]!r}")
            number = self._number(rest[position], what, int) if len(rest) > position and not rolled else None
            if number is not None and not 1 <= number <= limit:
                raise UsageError(f"{what} must be between 1 and {limit}, got {number}")
            picked.append(None if number is None else number - 1)
        layer = "rollout" if rolled else -1 if picked[0] is None else picked[0]
        head = picked[1]
        session.attention = att
        show(HTML(att.to_html(layer, head)))

    def _cmd_explain(self, session: Any, rest: list[str]) -> None:
        """``%ktrain explain "text" [TARGET]``: the text shaded word by word by each word's
        attribution toward the prediction (or toward TARGET: a class, a label, an entity type);
        a model of pairs or of questions takes two texts: ``%ktrain explain "question" "context"``;
        a model that writes explains each token it writes, or those of a text given after."""
        task = session.learner.task
        two = len(task.input_fields) == 2 or session.learner.data.train.pairs is not None
        shape = f'"{task.input_fields[0]}" "{task.input_fields[1]}"' if len(task.input_fields) == 2 else \
            '"first text" "second text"' if two else f'"{task.input_fields[0]}"'
        target = " [TARGET]" if task.explanation_choices(session.learner.class_names) else \
            ' ["text to explain"]' if task.writes_text else ""
        if len(rest) < 1 + two or len(rest) > 1 + two + bool(target):
            raise UsageError(f"usage: %ktrain explain {shape}{target}")
        item = (rest[0], rest[1]) if two else rest[0]
        session.explanation = session.learner.explain(item, rest[1 + two] if len(rest) > 1 + two else None)
        show(HTML(session.explanation._repr_html_()))

    def _cmd_top_losses(self, session: Any, rest: list[str]) -> None:
        show(frame_html(session.learner.top_losses(self._number(rest[0], "N", int) if rest else 5),
                        "ktnb-top-losses"))

    def _cmd_history(self, session: Any, rest: list[str]) -> None:
        show(session.learner.history.plot())

    def _cmd_save(self, session: Any, rest: list[str]) -> None:
        if not rest:
            raise UsageError("usage: %ktrain save DIR")
        session.saved_to = str(session.learner.predictor().save(rest[0]))
        print(f"saved the predictor to {session.saved_to}")

    def _cmd_launch(self, session: Any, rest: list[str]) -> None:
        from ..launch import launch
        from .progress import NotebookProgress

        if len(rest) > 1:
            raise UsageError("usage: %ktrain launch [N] (N processes, 2 by default)")
        count = self._number(rest[0], "N", int) if rest else 2
        if count < 1:
            raise UsageError(f"N must be a whole number of processes, at least 1, got {count}")
        if not session.config:
            raise UsageError("%ktrain launch trains a %%ktrain cell's settings again; this session has none: run the "
                             "cell first")
        name = self._line_args.session or self.last
        listeners = [] if self._line_args.quiet else [NotebookProgress()]
        launched = launch(session.config, count, data=session.data, callbacks=listeners, progress=False,
                          on_step=self._step_view(name))
        print(f"{name}: {launched!r} (trained in {count} processes)")

    def _cmd_export(self, session: Any, rest: list[str]) -> None:
        from ..script import export_script

        if len(rest) != 1:
            raise UsageError("usage: %ktrain export FILE.py (e.g. %ktrain export sst2/train.py)")
        script = export_script(session, rest[0])
        print(f"wrote {script} and {script.with_suffix('.yaml').name} beside it; run it with: "
              f"torchrun --nproc_per_node 2 {script}  (or python, or accelerate launch: see its first lines)")

    def _cmd_panel(self, session: Any, rest: list[str]) -> Any:
        """The panel on the last session's learner; before any session (or given DATA: a path or
        a notebook variable), a panel whose Data tab starts a new one."""
        from .panel import Panel

        if rest:
            return Panel(data=self._namespace_value(rest[0]))
        return Panel(session)

    def _cmd_show(self, session: Any, rest: list[str]) -> None:
        what = rest[0] if rest else "report"
        value = {"report": session.report, "lr_find": session.lr_finder, "attention": session.attention,
                 "explain": session.explanation}.get(what)
        if session.report is not None and what in session.learner.task.pictures:
            value = session.report.pictures()[what]
        if value is None:
            raise UsageError(f"nothing to show for {what!r} yet in this session")
        if what == "explain":  # one explanation, or the list a cell's show: [explain] left
            for item in value if isinstance(value, list) and not hasattr(value, "_repr_html_") else [value]:
                show(HTML(item._repr_html_()))
            return
        show(value.plot() if what == "lr_find" else value)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(KtnbMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("ktrain", None)
