import os

from camp.embedded_db import remove_stale_pid_file


def _write_pid_file(data_dir, pid):
    (data_dir / "postmaster.pid").write_text(f"{pid}\n{data_dir}\n1700000000\n5432\n")
    (data_dir / ".s.PGSQL.5432.lock").write_text(f"{pid}\n")


def test_pid_file_of_a_finished_process_is_removed(tmp_path):
    _write_pid_file(tmp_path, 2**22 + 12345)  # above the usual pid_max: no such process
    remove_stale_pid_file(tmp_path)
    assert not (tmp_path / "postmaster.pid").exists()
    assert not (tmp_path / ".s.PGSQL.5432.lock").exists()


def test_pid_file_naming_another_program_is_removed(tmp_path):
    _write_pid_file(tmp_path, os.getpid())  # this is python, not postgres
    remove_stale_pid_file(tmp_path)
    assert not (tmp_path / "postmaster.pid").exists()


def test_missing_pid_file_is_fine(tmp_path):
    remove_stale_pid_file(tmp_path)
    assert list(tmp_path.iterdir()) == []
