"""Pending computation (Atlas's Executor.Pending) without a database."""

from __future__ import annotations

import pytest

from pulumi_migrations_provider import plan
from pulumi_migrations_provider.errors import (MissingMigrationError, NonLinearError, NotCleanError,
                                               VersionError)
from pulumi_migrations_provider.migdir import MigrationFile
from pulumi_migrations_provider.revisions import TYPE_BASELINE, Revision


def files(*names: str, checkpoint: tuple[str, ...] = ()) -> list[MigrationFile]:
    out = []
    for n in sorted(names, key=str.encode):
        data = b"-- atlas:checkpoint\n\nSELECT 1;\n" if n in checkpoint else b"SELECT 1;\n"
        out.append(MigrationFile(n, data))
    return out


def revs(*specs: str | tuple[str, int, int]) -> list[Revision]:
    out = []
    for s in specs:
        v, applied, total = (s, 1, 1) if isinstance(s, str) else s
        out.append(Revision(v, "", applied=applied, total=total))
    return out


def names(p: plan.Plan) -> list[str]:
    return [f.name for f in p.pending]


def test_first_run_all_pending():
    assert names(plan.compute(files("1_a.sql", "2_b.sql"), [])) == ["1_a.sql", "2_b.sql"]


def test_nothing_pending_is_empty_not_error():
    p = plan.compute(files("1_a.sql", "2_b.sql"), revs("1", "2"))
    assert p.pending == [] and p.partial is None


def test_after_last_revision():
    assert names(plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql"), revs("1", "2"))) == ["3_c.sql"]


def test_versions_compare_as_strings_not_numbers():
    # "10" < "9" byte-wise: after applying 9, a file 10_x sorts before it and is out of order.
    fs = files("9_a.sql", "10_b.sql")
    assert [f.name for f in fs] == ["10_b.sql", "9_a.sql"]
    assert names(plan.compute(fs, revs("9"), exec_order="linear-skip")) == []


def test_dirty_first_run_requires_flag():
    with pytest.raises(NotCleanError, match="found table 'users'"):
        plan.compute(files("1_a.sql"), [], dirty_reason=lambda: "found table 'users'")
    p = plan.compute(files("1_a.sql"), [], allow_dirty=True, dirty_reason=lambda: "x")
    assert names(p) == ["1_a.sql"]


def test_baseline_skips_up_to_version():
    p = plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql"), [], baseline="2",
                     dirty_reason=lambda: "dirty")
    assert p.baseline is not None and p.baseline.version == "2"
    assert names(p) == ["3_c.sql"]
    with pytest.raises(VersionError, match="'7'"):
        plan.compute(files("1_a.sql"), [], baseline="7")


def test_baseline_ignored_once_revisions_exist():
    p = plan.compute(files("1_a.sql", "2_b.sql"), revs("1"), baseline="2")
    assert p.baseline is None and names(p) == ["2_b.sql"]


def test_partial_last_revision_resumes_that_file():
    p = plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql"), revs("1", ("2", 1, 3)))
    assert names(p) == ["2_b.sql", "3_c.sql"]
    assert p.partial is not None and p.partial.version == "2"


def test_partial_revision_without_file():
    with pytest.raises(MissingMigrationError, match="2_b.sql"):
        plan.compute(files("1_a.sql", "3_c.sql"), [Revision("1", "a", applied=1, total=1),
                                                   Revision("2", "b", applied=1, total=3)])


def test_out_of_order_linear_errors_with_atlas_wording():
    with pytest.raises(NonLinearError, match="file 2_b.sql was added out of order") as err:
        plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql", "4_d.sql"), revs("1", "3"))
    assert err.value.out_of_order == ["2_b.sql"]
    with pytest.raises(NonLinearError, match="files 2_b.sql, 3_c.sql were"):
        plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql", "4_d.sql"), revs("1", "4"))


def test_out_of_order_skip_and_non_linear():
    fs = files("1_a.sql", "2_b.sql", "3_c.sql", "4_d.sql")
    assert names(plan.compute(fs, revs("1", "3"), exec_order="linear-skip")) == ["4_d.sql"]
    p = plan.compute(fs, revs("1", "3"), exec_order="non-linear")
    assert names(p) == ["2_b.sql", "4_d.sql"]
    assert [f.name for f in p.out_of_order] == ["2_b.sql"]


def test_files_before_first_revision_are_not_out_of_order():
    # Baselined at 2: file 1 is older than the first revision, not "added out of order".
    rs = [Revision("2", "b", type=TYPE_BASELINE, applied=0, total=0)]
    assert names(plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql"), rs)) == ["3_c.sql"]


def test_every_file_newer_than_revisions():
    assert names(plan.compute(files("5_a.sql", "6_b.sql"), revs("1"))) == ["5_a.sql", "6_b.sql"]


def test_checkpoint_first_run_starts_at_last_checkpoint():
    fs = files("1_a.sql", "2_cp.sql", "3_c.sql", "4_cp.sql", "5_e.sql", checkpoint=("2_cp.sql", "4_cp.sql"))
    assert names(plan.compute(fs, [])) == ["4_cp.sql", "5_e.sql"]
    # afterwards checkpoint files are skipped
    assert names(plan.compute(fs, revs("4", "5"))) == []
    fs2 = fs + files("6_f.sql")
    assert names(plan.compute(fs2, revs("4", "5"))) == ["6_f.sql"]


def test_partially_applied_checkpoint_resumes_it():
    fs = files("1_a.sql", "2_cp.sql", "3_c.sql", checkpoint=("2_cp.sql",))
    assert names(plan.compute(fs, revs(("2", 1, 2)))) == ["2_cp.sql", "3_c.sql"]


def test_to_version_and_amount():
    fs = files("1_a.sql", "2_b.sql", "3_c.sql")
    assert names(plan.compute(fs, [], to_version="2")) == ["1_a.sql", "2_b.sql"]
    assert names(plan.compute(fs, [], amount=1)) == ["1_a.sql"]
    with pytest.raises(VersionError, match="'9'"):
        plan.compute(fs, [], to_version="9")
    p = plan.compute(fs, [], amount=2)
    assert p.all_pending == 3


def test_to_version_equal_to_current_is_nothing_pending():
    assert names(plan.compute(files("1_a.sql", "2_b.sql"), revs("1", "2"), to_version="2")) == []


def test_to_version_below_current_is_a_clear_error():
    with pytest.raises(VersionError, match="already at version 2.*down migrations are not supported"):
        plan.compute(files("1_a.sql", "2_b.sql", "3_c.sql"), revs("1", "2"), to_version="1")
