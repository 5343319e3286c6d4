"""Which store a run recorded, compared with a host's store however either URL is spelt."""
from durapipe.host.session import _remember_store, other_store_of_run
from durapipe.store.local import LocalStore


def test_a_run_of_the_same_folder_spelt_otherwise_is_on_this_store(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "store")
    _remember_store(tmp_path / "host", "r1", store.url)
    monkeypatch.chdir(tmp_path)
    for spelt in (str(tmp_path / "store"), "store", "./store/", f"{store.url}/", str(tmp_path / "x" / ".." / "store")):
        assert other_store_of_run(tmp_path / "host", "r1", spelt) is None, spelt


def test_a_run_of_another_store_names_it_and_an_unrecorded_run_names_none(tmp_path):
    store = LocalStore(tmp_path / "a")
    _remember_store(tmp_path / "host", "r1", store.url)
    assert other_store_of_run(tmp_path / "host", "r1", str(tmp_path / "b")) == store.url
    assert other_store_of_run(tmp_path / "host", "r1", "http://127.0.0.1:10000/devstoreaccount1/c") == store.url
    assert other_store_of_run(tmp_path / "host", "never-started-here", str(tmp_path / "b")) is None
