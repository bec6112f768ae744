"""Sessions: ``nox`` runs tests, lint and typecheck (the README's test command)."""

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage of trio_chat/."""
    session.install("-e", ".[test]")
    profile = "ci" if session.env.get("CI") else "default"
    session.run("coverage", "erase")
    session.run(
        "coverage", "run", "-m", "pytest", f"--hypothesis-profile={profile}", *session.posargs
    )
    session.run("coverage", "combine")
    session.run("coverage", "report", "--fail-under=95")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff (style, imports, ASYNC rules) and flake8-async (the cancellation checks)."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run(
        "flake8", "trio_chat", "tests", "benchmarks", "noxfile.py"
    )  # flake8-async, see .flake8


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy --strict against Trio's own inline type hints (never the old trio-typing stubs)."""
    session.install("-e", ".[typecheck]", "nox")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (minutes; not a default session): python -m benchmarks ARGS."""
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """Run the chaos mix for minutes and print the server's memory (not a default session)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.soak", *session.posargs)


@nox.session(python=PYTHON)
def soak10k(session: nox.Session) -> None:
    """Run the 10,000-member soak, 5 minutes (not a default session, not in CI).

    ``nox -s soak10k -- --soak-seconds 60`` for a shorter one: python -m benchmarks soak-10000.
    """
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks", "soak-10000", *session.posargs)
