"""The sources of the throwaway projects the end-to-end tests run: tiny text-file steps, no ML.

Every step appends `NAME START END` (time.time()) to the file named by $DURAPIPE_TEST_LOG
when it finishes, and `NAME start START` when it begins, so tests can count executions and
compare intervals without wall-clock thresholds.
"""
from __future__ import annotations

from textwrap import dedent

PYPROJECT = dedent('''\
    [project]
    name = "throwaway"
    version = "0"
    ''')

# What every pipeline file starts with: the execution log every step writes to.
_PREAMBLE = dedent('''\
    import os
    import time

    from durapipe import Input, Output, pipeline, step


    def log(line):
        with open(os.environ["DURAPIPE_TEST_LOG"], "a") as out:
            out.write(line + "\\n")


    def started(name):
        now = time.time()
        log(f"{name} start {now}")
        return now


    def finished(name, since):
        log(f"{name} end {since} {time.time()}")

    ''')

HELPER = dedent('''\
    def transform_text(text):
        return text.upper()
    ''')

# source -> transform -> finish, and an independent side; only transform uses helper.py.
CHAIN = _PREAMBLE + dedent('''\
    import helper


    @step
    def source(out: Output):
        t = started("source")
        with open(out, "w") as f:
            f.write("text")
        finished("source", t)


    @step
    def transform(src: Input, out: Output):
        t = started("transform")
        with open(src) as f, open(out, "w") as g:
            g.write(helper.transform_text(f.read()))
        finished("transform", t)


    @step
    def finish(src: Input, out: Output):
        t = started("finish")
        with open(src) as f, open(out, "w") as g:
            g.write(f.read() + "!")
        finished("finish", t)


    @step
    def side(out: Output):
        t = started("side")
        with open(out, "w") as f:
            f.write("side")
        finished("side", t)


    @pipeline
    def chain():
        return {"finish": finish(src=transform(src=source().out).out).out, "side": side().out}
    ''')

CHAIN_STEPS = ["source", "transform", "finish", "side"]

# Two independent steps that each take about half a second.
PARALLEL = _PREAMBLE + dedent('''\
    @step
    def left(out: Output):
        t = started("left")
        time.sleep(0.5)
        with open(out, "w") as f:
            f.write("left")
        finished("left", t)


    @step
    def right(out: Output):
        t = started("right")
        time.sleep(0.5)
        with open(out, "w") as f:
            f.write("right")
        finished("right", t)


    @pipeline
    def parallel():
        return {"left": left().out, "right": right().out}
    ''')

# Four sequential steps, slow enough to kill the host in the middle of the run.
SEQUENCE_STEPS = ["s1", "s2", "s3", "s4"]
SEQUENCE = _PREAMBLE + "".join(dedent(f'''\
    @step
    def {name}({"src: Input, " if i else ""}out: Output):
        t = started("{name}")
        time.sleep(0.7)
        with open(out, "w") as f:
            f.write("{name}")
        finished("{name}", t)


    ''') for i, name in enumerate(SEQUENCE_STEPS)) + dedent('''\
    @pipeline
    def sequence():
        return {"out": s4(src=s3(src=s2(src=s1().out).out).out).out}
    ''')

# Pipelines that are invalid when they are loaded.
UNKNOWN_INPUT = _PREAMBLE + dedent('''\
    @step
    def make(out: Output):
        with open(out, "w") as f:
            f.write("x")


    @step
    def use(src: Input, out: Output):
        pass


    @pipeline
    def broken():
        return {"out": use(source=make().out).out}
    ''')

TYPED_PARAM = _PREAMBLE + dedent('''\
    @step
    def make(out: Output, count: int = 1):
        with open(out, "w") as f:
            f.write("x" * count)


    @pipeline
    def typed(count: int = 1):
        return {"out": make(count=count).out}
    ''')

# One step that records its process id, then runs for a long time.
LONG_STEP = _PREAMBLE + dedent('''\
    @step
    def long(out: Output):
        log(f"long pid {os.getpid()}")
        t = started("long")
        time.sleep(60)
        with open(out, "w") as f:
            f.write("long")
        finished("long", t)


    @pipeline
    def long_flow():
        return {"out": long().out}
    ''')

# first -> flaky: flaky fails while the file named by $FLAKY_FLAG exists.
FLAKY = _PREAMBLE + dedent('''\
    @step
    def first(out: Output):
        t = started("first")
        with open(out, "w") as f:
            f.write("first")
        finished("first", t)


    @step
    def flaky(src: Input, out: Output):
        t = started("flaky")
        if os.path.exists(os.environ["FLAKY_FLAG"]):
            raise RuntimeError("the flag is up")
        with open(src) as f, open(out, "w") as g:
            g.write(f.read() + "!")
        finished("flaky", t)


    @pipeline
    def flaky_flow():
        return {"out": flaky(src=first().out).out}
    ''')

# One input read by one step: what a data version feeds.
READ_RAW = _PREAMBLE + dedent('''\
    @step
    def count(raw: Input, out: Output):
        t = started("count")
        with open(raw) as f, open(out, "w") as g:
            g.write(str(len(f.read())))
        finished("count", t)


    @pipeline
    def read_raw(raw: Input):
        return {"count": count(raw=raw).out}
    ''')

# A training step whose model and metrics file follow the parameter `quality`, and its Model declaration.
TRAIN = _PREAMBLE + dedent('''\
    import json


    @step
    def fit(model: Output, metrics: Output, quality: float = 0.5):
        t = started("fit")
        with open(model, "w") as f:
            f.write(f"model of quality {quality}")
        with open(metrics, "w") as f:
            json.dump({"score": quality}, f)
        finished("fit", t)


    @pipeline
    def train(quality: float = 0.5):
        out = fit(quality=quality)
        return {"model": out.model, "metrics": out.metrics}
    ''')

TRAIN_DEFINITIONS = dedent('''\
    from durapipe import Definitions, Model
    from flow import train

    defs = Definitions(pipelines=[train], models=[Model("clf", pipeline=train, output="model", metrics="metrics",
                                                        metric="score", direction="max", min_gain=0.0)])
    ''')

TRAIN_PYPROJECT = PYPROJECT + dedent('''\

    [tool.durapipe]
    definitions = "defs:defs"
    ''')

# A step that logs a metric and a parameter from its `quality` parameter, and a reader of its output.
LOGGING = _PREAMBLE + dedent('''\
    import durapipe


    @step
    def fit(model: Output, quality: float = 0.5):
        t = started("fit")
        durapipe.log_param("algorithm", "constant")
        durapipe.log_metric("score", quality / 2)
        durapipe.log_metric("score", quality)
        with open(model, "w") as f:
            f.write(str(quality))
        finished("fit", t)


    @step
    def report(model: Input, out: Output):
        t = started("report")
        with open(model) as f, open(out, "w") as g:
            g.write("report " + f.read())
        finished("report", t)


    @pipeline
    def logging(quality: float = 0.5):
        fitted = fit(quality=quality)
        return {"model": fitted.model, "report": report(model=fitted.model).out}
    ''')

# prepare(raw) -> fit -> model and metrics: a model trained on a data version, for lineage.
TRAIN_ON_DATA = _PREAMBLE + dedent('''\
    import json

    import helper


    @step
    def prepare(raw: Input, features: Output):
        with open(raw) as f, open(features, "w") as g:
            g.write(helper.transform_text(f.read()))


    @step
    def fit(features: Input, model: Output, metrics: Output, C: float = 1.0):
        with open(features) as f, open(model, "w") as g:
            g.write(f"model C={C} of {f.read()}")
        with open(metrics, "w") as f:
            json.dump({"score": C}, f)


    @pipeline
    def train(raw: Input, C: float = 1.0):
        out = fit(features=prepare(raw=raw).features, C=C)
        return {"model": out.model, "metrics": out.metrics}
    ''')

# One fit per element of a list parameter, fanned in to a select step that gets a list of paths.
FAN_IN = _PREAMBLE + dedent('''\
    import json


    @step
    def fit(model: Output, C: float = 1.0):
        t = started("fit")
        with open(model, "w") as f:
            json.dump({"C": C}, f)
        finished("fit", t)


    @step
    def select(models: Input, best: Output):
        t = started("select")
        values = [json.load(open(p))["C"] for p in models]
        with open(best, "w") as f:
            f.write(f"{type(models).__name__} {values} best {max(values)}")
        finished("select", t)


    @step
    def by_name(models: Input, names: Output):
        with open(names, "w") as f:
            f.write(",".join(f"{k}={json.load(open(p))['C']}" for k, p in models.items()))


    @pipeline
    def tune(Cs: list = [0.1, 1.0, 10.0]):
        fits = [fit(C=C).model for C in Cs]
        return {"best": select(models=fits).best,
                "names": by_name(models={"first": fits[0], "last": fits[-1]}).names}
    ''')

# A sweep of six trials of a step that logs its error; each trial sleeps so overlap is measurable.
SWEEP = _PREAMBLE + dedent('''\
    import json

    import durapipe


    @step
    def fit(model: Output, C: float = 1.0, depth: int = 1):
        t = started(f"fit-C{C}-d{depth}")
        time.sleep(1.0)
        durapipe.log_metric("mae", abs(C - 2.0) + depth)
        with open(model, "w") as f:
            json.dump({"C": C, "depth": depth}, f)
        finished(f"fit-C{C}-d{depth}", t)


    @pipeline
    def tune():
        best = durapipe.sweep(fit, grid={"C": [1.0, 2.0, 3.0], "depth": [1, 2]}, metric="mae", direction="min")
        return {"model": best.model, "trials": best.trials}
    ''')
