"""Run by tests/test_script.py under `torchrun --nproc_per_node 2`: an exported script's entry
point (`ktnb.script.main`) whose process 1 is killed at its third batch. Arguments: the config."""

import os
import signal
import sys

import ktnb.script
from ktnb.events import PROCESS_LISTENERS


def kill_process_1(event):
    if event.name == "batch_end" and event.batch == 2 and event.learner.accelerator.process_index == 1:
        os.kill(os.getpid(), signal.SIGKILL)


PROCESS_LISTENERS.append(kill_process_1)
ktnb.script.main(sys.argv[1])
