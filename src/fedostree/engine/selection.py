"""Package specs matched against a libsolv pool with libsolv's selection API, which
implements dnf's forms: a name, `name.arch`, `name-[epoch:]version[-release][.arch]`
(SELECTION_CANON), `name OP evr` (SELECTION_REL), a provide, and shell globs in names.
A path matches a package whose file list has it or one that `Provides:` it."""

from __future__ import annotations

import solv

from fedostree.model.package_spec import is_path

S = solv.Selection
SPEC_FLAGS = (
    S.SELECTION_NAME
    | S.SELECTION_PROVIDES
    | S.SELECTION_CANON
    | S.SELECTION_DOTARCH
    | S.SELECTION_REL
    | S.SELECTION_GLOB
)


def select_spec(pool: solv.Pool, spec: str, *, with_disabled: bool = False) -> solv.Selection:
    """What spec matches. A name glob selects every matching name (as `dnf install`);
    with_disabled also matches the packages hidden from the solver, to explain a miss."""
    extra = S.SELECTION_WITH_DISABLED if with_disabled else 0
    if is_path(spec):
        return _select_path(pool, spec, extra)
    return pool.select(spec, SPEC_FLAGS | extra)


def _select_path(pool: solv.Pool, path: str, extra: int) -> solv.Selection:
    """libsolv looks at file lists only, and provides only when no file list matched;
    dnf looks at both: any one package that has the path or provides it will do."""
    files = pool.select(path, S.SELECTION_FILELIST | S.SELECTION_GLOB | extra)
    provides = pool.select(path, S.SELECTION_PROVIDES | S.SELECTION_GLOB | extra)
    ids = sorted({s.id for s in (*files.solvables(), *provides.solvables())})
    selection = pool.Selection()
    if ids:
        selection.add_raw(solv.Job.SOLVER_SOLVABLE_ONE_OF, pool.towhatprovides(ids))
    return selection


def in_repo(selection: solv.Selection, repo: solv.Repo) -> solv.Selection:
    """The part of selection that repo holds (`repo-packages`)."""
    narrowed = selection.clone()
    narrowed.filter(repo.Selection())
    return narrowed
