"""Run by tests/test_storage.py: load the predictor in SOURCE, save it into TARGET, and kill this
process with SIGKILL at MOMENT, as a crash, an out-of-memory kill or a lost runtime would.

MOMENT is a step of the save (after-weights, before-manifest, before-swap, during-cleanup,
fallback-mid-delete: the path taken where the atomic swap is unavailable) or a delay such as
"7ms" after the save begins, which lands wherever the save happens to be.
"""

import os
import shutil
import signal
import sys
import threading

import ktnb
import ktnb.predictor
import ktnb.storage as storage

source, target, moment = sys.argv[1:4]
predictor = ktnb.load_predictor(source)


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


real_rmtree, real_exchange = shutil.rmtree, storage._exchange
swapped = []


def exchange_then_remember(a, b):
    swapped.append(real_exchange(a, b))
    return swapped[-1]


def remove_half_then_die(path, *args, **kwargs):
    """Delete some files of the folder being removed, then die: a removal cut short."""
    if swapped:
        for name in sorted(os.listdir(path))[:2]:
            os.remove(os.path.join(path, name))
        die()
    return real_rmtree(path, *args, **kwargs)


real_remove, removed = os.remove, []


def die_on_third_remove(path, *args, **kwargs):
    removed.append(path)
    if len(removed) == 3:
        die()
    return real_remove(path, *args, **kwargs)


if moment == "after-weights":
    predictor.tokenizer.save_pretrained = die
elif moment == "before-manifest":
    ktnb.predictor.write_manifest = die
elif moment == "before-swap":
    storage._exchange = die
    storage.os.rename = die
elif moment == "during-cleanup":
    storage._exchange = exchange_then_remember
    shutil.rmtree = remove_half_then_die
elif moment == "fallback-mid-delete":
    storage._exchange = lambda a, b: False
    storage.os.remove = die_on_third_remove
elif moment.endswith("ms"):
    timer = threading.Timer(float(moment[:-2]) / 1000, die)
    timer.daemon = True
    timer.start()
else:
    raise SystemExit(f"unknown moment {moment}")
predictor.save(target)
print("saved", flush=True)
die()  # a timer that fired too late: the save finished whole; the test expects a kill either way
