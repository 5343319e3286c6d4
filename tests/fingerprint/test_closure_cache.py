"""Code closures remembered across processes: reused only while every file and folder they read is unchanged."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import time

import pytest

from durapipe.core import file_signature
from durapipe.fingerprint import closure_cache
from durapipe.fingerprint import code as code_module
from durapipe.fingerprint import modules
from durapipe.fingerprint.closure_cache import ClosureCache


@pytest.fixture
def derivations(project, monkeypatch):
    """Settle files at once, start each lookup as a new process would (nothing in memory), and count derivations."""
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 0.0)
    calls = []
    real = code_module._Closure.of_function
    monkeypatch.setattr(code_module._Closure, "of_function", lambda self, *a: calls.append(a) or real(self, *a))
    original = code_module.code_components_at

    def as_new_process(*args, **kwargs):
        code_module.clear_memo()
        modules.clear_cache()
        return original(*args, **kwargs)

    monkeypatch.setattr(project, "code", lambda q, rel="pipelines/retrain.py": as_new_process(project.root / rel, q, project.root))
    yield calls
    code_module.clear_memo()


def fresh(project, qualname="a"):
    """The closure derived from source, with no cache at all."""
    shutil.rmtree(project.root / ".durapipe", ignore_errors=True)
    closure_cache._by_project.clear()
    code_module.clear_memo()
    modules.clear_cache()
    return code_module.code_components_at(project.pipeline, qualname, project.root)


def later():
    # Let the clock move past the filesystem's timestamp granularity.
    time.sleep(0.05)


def test_an_unchanged_closure_is_read_from_the_cache_in_a_new_process(project, derivations):
    first = project.code("a")
    assert project.code("a") == first
    assert len(derivations) == 1
    assert (project.root / ".durapipe" / "cache" / "closures.sqlite").is_file()


def test_editing_a_module_is_detected(project, derivations):
    first = project.code("a")
    later()
    project.edit("helpers.py", "2 * x", "5 * x")
    assert project.code("a") != first
    assert len(derivations) == 2


def test_touching_a_module_without_a_change_derives_the_same_closure(project, derivations):
    first = project.code("a")
    later()
    (project.root / "helpers.py").touch()
    assert project.code("a") == first
    assert len(derivations) == 2


def test_a_same_size_edit_with_its_mtime_restored_is_detected_by_ctime(project, derivations):
    helpers = project.root / "helpers.py"
    first = project.code("a")
    before = helpers.stat()
    later()
    project.edit("helpers.py", "2 * x", "3 * x")
    os.utime(helpers, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = helpers.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert project.code("a") != first
    assert project.code("a") == fresh(project)


def test_replacing_a_module_by_a_symlink_is_detected(project, derivations):
    first = project.code("a")
    later()
    (project.root / "lib").mkdir()
    (project.root / "lib" / "impl.py").write_text("def double(x):\n    return 2 * x\n")
    (project.root / "helpers.py").unlink()
    (project.root / "helpers.py").symlink_to(project.root / "lib" / "impl.py")
    replaced = project.code("a")
    assert len(derivations) == 2
    assert "lib/impl.py::double" in replaced.sources and replaced != first
    assert replaced == fresh(project)


def test_a_module_that_moved_is_followed_to_its_new_place(project, derivations):
    first = project.code("a")
    later()
    (project.root / "helpers.py").rename(project.root / "pipelines" / "helpers.py")
    moved = project.code("a")
    assert "pipelines/helpers.py::double" in moved.sources and "helpers.py::double" not in moved.sources
    assert moved != first
    assert moved == fresh(project)


def test_a_new_module_that_shadows_the_imported_one_is_detected(project, derivations):
    first = project.code("a")
    later()
    # The pipeline's own folder is searched before the project root.
    project.write("pipelines/helpers.py", "def double(x):\n    return 7 * x\n")
    shadowed = project.code("a")
    assert "pipelines/helpers.py::double" in shadowed.sources and shadowed != first
    assert shadowed == fresh(project)


def test_a_file_written_just_now_is_not_remembered(project, monkeypatch):
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 3600.0)
    code_module.code_components_at(project.pipeline, "a", project.root)
    cache = ClosureCache.for_project(project.root)
    key = code_module.closure_key(str(project.pipeline), "a", str(project.root), None)
    assert cache.lookup(key) is None


def test_an_unwritable_cache_only_costs_speed(project, derivations):
    (project.root / ".durapipe").write_text("not a folder")
    closure_cache._by_project.clear()
    assert project.code("a") == project.code("a")
    assert len(derivations) == 2


def _closure_in_child(root: str, queue) -> None:
    from pathlib import Path
    info = code_module.code_components_at(Path(root) / "pipelines" / "retrain.py", "c", Path(root))
    queue.put(sorted(info.sources.items()))


def test_processes_sharing_the_cache_at_once_agree(project, monkeypatch):
    monkeypatch.setattr(file_signature, "RACY_WINDOW_S", 0.0)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_closure_in_child, args=(str(project.root), queue)) for _ in range(4)]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert all(result == results[0] for result in results)
    assert results[0] == sorted(fresh(project, "c").sources.items())


def test_an_unrelated_new_file_in_a_searched_folder_keeps_the_closure(project, derivations):
    first = project.code("a")
    later()
    project.write("notes.txt", "results of Tuesday\n")
    project.write("pipelines/scratch.py", "X = 1\n")
    assert project.code("a") == first
    assert len(derivations) == 1


def test_a_package_folder_replaced_by_a_symlink_is_detected(project, derivations):
    first = project.code("c")
    later()
    (project.root / "shop").rename(project.root / "shop_real")
    (project.root / "shop").symlink_to(project.root / "shop_real")
    replaced = project.code("c")
    assert len(derivations) == 2
    assert replaced == fresh(project, "c")
    assert "shop_real/deep.py::depth" in replaced.sources and replaced != first


def test_a_signature_snapshot_reads_each_path_once_and_only_on_its_own_thread(tmp_path):
    import threading

    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    deps = closure_cache.Dependencies.of({str(module)}, {str(tmp_path / "n.py"): False})
    seen_elsewhere = []
    with closure_cache.signature_snapshot():
        assert deps.unchanged()
        module.write_text("x = 22\n")
        # The plan checks one moment's files: the path was read once, before the edit.
        assert deps.unchanged()
        worker = threading.Thread(target=lambda: seen_elsewhere.append(deps.unchanged()))
        worker.start()
        worker.join()
    assert seen_elsewhere == [False]  # a step fingerprinted on another thread meanwhile reads the file afresh
    assert not deps.unchanged()  # and after the plan, so does everyone
